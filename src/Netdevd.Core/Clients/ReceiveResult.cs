namespace Netdevd.Core.Clients;

/// <summary>A receiver's answer to a frame.</summary>
public enum ReceiveResult
{
    /// <summary>Taken (written, consumed or deliberately discarded).</summary>
    Accepted,

    /// <summary>
    /// Cannot take it now (socket buffer full, not connected yet...). The frame is queued for the
    /// receiver, which calls <see cref="NetClient.FlushQueue"/> when it can take frames again.
    /// </summary>
    Busy,
}
