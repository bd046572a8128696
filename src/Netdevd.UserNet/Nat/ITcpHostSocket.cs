namespace Netdevd.UserNet.Nat;

/// <summary>The host side of one TCP connection (its socket), as the stack sees it.</summary>
internal interface ITcpHostSocket
{
    /// <summary>Level-triggered: the connection changed; do the I/O it now allows, after the stack's pass (never inside it).</summary>
    void Sync();

    /// <summary>The connection is gone: release the socket (abortively after a guest RST) and the connection's buffers.</summary>
    void Close();
}
