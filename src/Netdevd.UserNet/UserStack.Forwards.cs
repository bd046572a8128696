using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>Host forwards: a connection accepted on the host becomes a connection we open towards the guest.</summary>
public sealed partial class UserStack
{
    private const ushort FirstForwardPort = 49152;
    private ushort _nextForwardPort = FirstForwardPort;

    /// <summary>
    /// Opens a connection to guest:port for a host connection already accepted from
    /// <paramref name="client"/>:<paramref name="clientPort"/> (its socket is
    /// <paramref name="hostState"/>); the guest sees the client's own address and port, as in
    /// libslirp. Returns null (counted) when the flow table or the memory budget is full.
    /// </summary>
    internal TcpConnection? OpenForward(Ipv4Address guest, ushort guestPort, Ipv4Address client, ushort clientPort, object hostState) =>
        OpenForward(new TcpFlowAddress(guest, guestPort, ForwardedClientAddress(client), clientPort), hostState);

    /// <summary>
    /// <see cref="OpenForward(Ipv4Address, ushort, Ipv4Address, ushort, object)"/> to an IPv6
    /// guest address: the client's own IPv6 address, except loopback, unspecified and IPv4 ones
    /// (which the guest could not answer over IPv6), which become the IPv6 virtual host.
    /// </summary>
    internal TcpConnection? OpenForward6(Ipv6Address guest, ushort guestPort, Ipv6Address client, ushort clientPort, object hostState)
    {
        var foreign = client.IsLoopback || client.IsUnspecified || client.IsIpv4Mapped ? _options.Ipv6Host : client;
        return OpenForward(new TcpFlowAddress(guest, guestPort, foreign, clientPort), hostState);
    }

    private TcpConnection? OpenForward(TcpFlowAddress key, object hostState)
    {
        if (_tcp.Count >= _options.Limits.MaxTcpFlows && !EvictTimeWait())
        {
            Counters.Drop(FrameDropReason.TcpFlowLimit);
            return null;
        }

        while (_tcp.ContainsKey(key))
        {
            // Two loopback clients (127.0.0.1 and 127.0.0.2) with one port both map to the
            // virtual host: the later one gets a made-up port rather than joining the first's flow.
            key = key with { ForeignPort = NextForwardPort() };
        }

        if (ReserveFlowBuffers(out var reserved) is not { } settings)
        {
            Counters.Drop(FrameDropReason.MemoryLimit);
            return null;
        }

        var now = NowMs;
        var connection = TcpConnection.Connect(settings, _tcpOutput, key, NewIss(), now);
        connection.BudgetBytes = reserved;
        connection.HostState = hostState;
        _tcp.Add(key, connection);
        Counters.TcpFlowsOpened++;
        Service(connection, now);
        return connection;
    }

    /// <summary>
    /// The guest-visible address of a forward's host client (libslirp's sotranslate_accept): its
    /// own, except loopback and unspecified sources, which the guest could not answer, become the
    /// virtual host.
    /// </summary>
    private Ipv4Address ForwardedClientAddress(Ipv4Address client) => client.IsLoopback || client.IsAny ? _options.Host : client;

    private ushort NextForwardPort()
    {
        var port = _nextForwardPort;
        _nextForwardPort = _nextForwardPort == ushort.MaxValue ? FirstForwardPort : (ushort)(_nextForwardPort + 1);
        return port;
    }

    /// <summary>The first DHCP address: the default guest of a host forward.</summary>
    public Ipv4Address DefaultForwardGuest => _options.DhcpStart;
}
