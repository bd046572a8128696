namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>What <see cref="VhostUserChannel.Receive"/> got.</summary>
public enum VhostUserReceiveStatus
{
    Message,

    /// <summary>The peer closed between messages.</summary>
    Closed,

    /// <summary>The peer closed mid-message, sent a bad version or an oversized size: close the connection.</summary>
    Malformed,

    /// <summary>recvmsg failed (errno in the channel's <see cref="VhostUserChannel.LastErrno"/>).</summary>
    Failed,
}
