namespace Netdevd.Personalities.Pasta;

/// <summary>Which /proc/net socket table.</summary>
internal enum SocketTable
{
    Tcp,
    Tcp6,
    Udp,
    Udp6,
}

/// <summary>The socket tables auto forwarding scans: the host's and the namespace's.</summary>
internal interface IPortTables
{
    /// <summary>The table as it is now (empty when there is none, e.g. no IPv6).</summary>
    ReadOnlySpan<byte> Read(bool inNamespace, SocketTable table);

    /// <summary>
    /// The inodes of this process's own sockets on the host, left out of the host's scans:
    /// the user netdev's UDP flows are bound, unconnected sockets, which look like servers.
    /// </summary>
    IReadOnlySet<ulong> OwnSockets();
}
