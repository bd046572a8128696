namespace Netdevd.Core.Clients;

/// <summary>What became of a frame handed to <see cref="NetClient.Send"/>.</summary>
public enum DeliveryResult
{
    /// <summary>The receiver took it (or it was dropped by rule: link down, no peer), as QEMU reports such frames as sent.</summary>
    Delivered,

    /// <summary>
    /// The receiver could not take it now; it waits in the receiver's bounded queue. The sender
    /// should stop reading its own input until <see cref="NetClient.OnPeerReady"/> is called
    /// (QEMU's "receive returned 0" back-pressure).
    /// </summary>
    Queued,

    /// <summary>The receiver's queue was full or the frame too large: dropped and counted.</summary>
    Dropped,
}
