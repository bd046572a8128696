using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>Host forwards: a connection accepted on the host becomes a connection we open towards the guest.</summary>
public sealed partial class UserStack
{
    private const ushort FirstForwardPort = 49152;
    private ushort _nextForwardPort = FirstForwardPort;

    /// <summary>The guest's IPv6 address as its traffic last showed it (<see cref="ForwardTarget6"/>).</summary>
    private Ipv6Address? _guestSeen6;

    /// <summary>
    /// Opens a connection to guest:port for a host connection already accepted from
    /// <paramref name="client"/>:<paramref name="clientPort"/> (its socket is
    /// <paramref name="hostState"/>); the guest sees the client's own address and port, as in
    /// libslirp. Returns null (counted) when the flow table or the memory budget is full.
    /// </summary>
    internal TcpConnection? OpenForward(Ipv4Address guest, ushort guestPort, Ipv4Address client, ushort clientPort, ITcpHostSocket hostState) =>
        OpenForward(new TcpFlowAddress(guest, guestPort, ForwardedClientAddress(client), clientPort), hostState);

    /// <summary>
    /// <see cref="OpenForward(Ipv4Address, ushort, Ipv4Address, ushort, ITcpHostSocket)"/> to an IPv6
    /// guest address: the client's own IPv6 address, except loopback, unspecified and IPv4 ones
    /// (which the guest could not answer over IPv6), which become the IPv6 virtual host.
    /// </summary>
    internal TcpConnection? OpenForward6(Ipv6Address guest, ushort guestPort, Ipv6Address client, ushort clientPort, ITcpHostSocket hostState)
    {
        var foreign = client.IsLoopback || client.IsUnspecified || client.IsIpv4Mapped ? _options.Ipv6Host : client;
        return OpenForward(new TcpFlowAddress(ForwardTarget6(guest), guestPort, foreign, clientPort), hostState);
    }

    /// <summary>
    /// Where a forward to <paramref name="guest"/> goes: as passt (its addr_seen), a forward to the
    /// address DHCPv6 assigns (ipv6-dhcp-address) goes to the address the guest's IPv6 traffic last
    /// came from (or its DAD named) within the prefix, which is the assigned one for a guest that asked DHCPv6 for it
    /// and its SLAAC address for a guest that did not (many take SLAAC only and would never answer
    /// at the assigned one); the assigned one until the guest has sent anything. Forwards to any
    /// other address go where they say.
    /// </summary>
    internal Ipv6Address ForwardTarget6(Ipv6Address guest) =>
        _options.Ipv6DhcpAddress is { } assigned && guest == assigned && _guestSeen6 is { } seen ? seen : guest;

    /// <summary>
    /// An address the guest uses (a source of its traffic, the target of its duplicate address
    /// detection or of its advertisement): kept for <see cref="ForwardTarget6"/> when it is one of
    /// the prefix's and not ours. DAD counts because a guest that just took its SLAAC address may
    /// not have sent anything from it yet.
    /// </summary>
    private void NoteGuestAddress6(Ipv6Address source)
    {
        if (_options.Ipv6DhcpAddress is not null && source.IsInPrefix(_options.Ipv6Prefix, _options.Ipv6PrefixLength) && !IsVirtualAddress6(source))
        {
            _guestSeen6 = source;
        }
    }

    private TcpConnection? OpenForward(TcpFlowAddress key, ITcpHostSocket hostState)
    {
        if (ForwardsHoldTheirShare() || (_tcp.Count >= _options.Limits.MaxTcpFlows && !EvictTimeWait()))
        {
            Counters.Drop(FrameDropReason.TcpFlowLimit);
            return null;
        }

        while (_tcp.Contains(key))
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
    /// Whether the host forwards' connections hold their share of the TCP flows
    /// (<see cref="NatLimits.MaxTcpForwardFlows"/>). Counted only when the table holds that many
    /// flows at all: a scan on a new forward connection near the limit, never per frame.
    /// </summary>
    private bool ForwardsHoldTheirShare()
    {
        var share = _options.Limits.MaxTcpForwardFlows;
        if (_tcp.Count < share)
        {
            return false;
        }

        var forwards = 0;
        foreach (var connection in _tcp.Flows)
        {
            // TIME_WAIT ones are done and give way to any new flow (EvictTimeWait).
            if (connection.OpenedByHost && connection.State != TcpState.TimeWait && ++forwards >= share)
            {
                return true;
            }
        }

        return false;
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
