namespace Netdevd.UserNet.Nat;

/// <summary>The host side of one TCP connection (its socket), as the stack sees it.</summary>
internal interface ITcpHostSocket
{
    /// <summary>Level-triggered: the connection changed; do the I/O it now allows, after the stack's pass (never inside it).</summary>
    void Sync();

    /// <summary>The connection is gone: release the socket (abortively after a guest RST) and the connection's buffers.</summary>
    void Close();

    /// <summary>
    /// Writes in-order guest bytes to the host socket at once, straight from the guest's frame,
    /// when nothing older waits in the connection's ring; returns how many the socket took (0 when
    /// it takes none now: not connected or known full, an error). It never calls back into the
    /// stack: what is not taken goes to the ring, and the ordinary write from there (after the
    /// stack's pass) meets whatever the socket has to say.
    /// </summary>
    int SendNow(ReadOnlySpan<byte> data);
}
