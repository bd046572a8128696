using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>UDP host forwards: each host client is a flow the guest sees from the client's own address (loopback: the virtual host).</summary>
public sealed partial class UserStack
{
    private readonly FlowTable<UdpForwardKey, UdpForwardFlow> _udpForwards = new(4);

    /// <summary>The host forwards' UDP clients the stack holds a flow for.</summary>
    public int UdpForwardFlowCount => _udpForwards.Count;

    /// <summary>
    /// A new host client <paramref name="client"/>:<paramref name="clientPort"/> of a UDP forward;
    /// null (counted) when the guest's flows hold every slot and no forward flow can give way.
    /// </summary>
    internal UdpForwardFlow? OpenUdpForward(Ipv4Address guest, ushort guestPort, Ipv4Address client, ushort clientPort, object hostState) =>
        OpenUdpForward(new UdpForwardKey(Ipv6Address.FromIpv4Mapped(guest), guestPort, Ipv6Address.FromIpv4Mapped(ForwardedClientAddress(client)), clientPort), hostState);

    /// <summary>
    /// <see cref="OpenUdpForward(Ipv4Address, ushort, Ipv4Address, ushort, object)"/> to an IPv6 guest
    /// address: the client's own IPv6 address, except loopback, unspecified and IPv4 ones (which the
    /// guest could not answer over IPv6), which become the IPv6 virtual host, as for TCP; the
    /// guest's address as <see cref="ForwardTarget6"/> picks it.
    /// </summary>
    internal UdpForwardFlow? OpenUdpForward6(Ipv6Address guest, ushort guestPort, Ipv6Address client, ushort clientPort, object hostState)
    {
        var foreign = client.IsLoopback || client.IsUnspecified || client.IsIpv4Mapped ? _options.Ipv6Host : client;
        return OpenUdpForward(new UdpForwardKey(ForwardTarget6(guest), guestPort, foreign, clientPort), hostState);
    }

    private UdpForwardFlow? OpenUdpForward(UdpForwardKey key, object hostState)
    {
        var limits = _options.Limits;
        if ((_udpForwards.Count >= limits.MaxUdpForwardFlows || AllUdpFlows >= limits.MaxUdpFlows) && !EvictUdpForward())
        {
            Counters.Drop(FrameDropReason.UdpFlowLimit);
            return null;
        }

        while (_udpForwards.Contains(key))
        {
            // A second loopback address with the same port: see OpenForward.
            key = key with { ForeignPort = NextForwardPort() };
        }

        var flow = new UdpForwardFlow(key.Guest, key.GuestPort, key.Foreign, key.ForeignPort, hostState) { ExpiresAt = NowMs + _options.Limits.UdpIdleTimeoutMs, LastActivityMs = NowMs };
        NoteDeadline(flow.ExpiresAt);
        _udpForwards.Add(key, flow);
        return flow;
    }

    /// <summary>A datagram from the forward's host client, for the guest.</summary>
    internal void OnUdpForwardDatagram(UdpForwardFlow flow, ReadOnlySpan<byte> payload)
    {
        flow.ExpiresAt = NowMs + _options.Limits.UdpIdleTimeoutMs;
        flow.LastActivityMs = NowMs;
        NoteDeadline(flow.ExpiresAt);
        if (flow.IsIpv4)
        {
            SendUdpToGuest(flow.ForeignAddress, flow.ForeignPort, flow.GuestAddress, flow.GuestPort, payload);
        }
        else
        {
            SendUdp6(flow.Foreign, flow.ForeignPort, flow.Guest, flow.GuestPort, payload);
        }
    }

    /// <summary>The guest's datagram: an answer to a forward's client, if one matches its four ends.</summary>
    private bool TryUdpForwardReply(Ipv4Address source, ushort sourcePort, Ipv4Address destination, ushort destinationPort, ReadOnlySpan<byte> payload) =>
        _udpForwards.Count != 0 &&
        TryUdpForwardReply(Ipv6Address.FromIpv4Mapped(source), sourcePort, Ipv6Address.FromIpv4Mapped(destination), destinationPort, payload);

    /// <summary>The guest's datagram over IPv6 (or IPv4, mapped): an answer to a forward's client, if one matches its four ends.</summary>
    private bool TryUdpForwardReply(Ipv6Address source, ushort sourcePort, Ipv6Address destination, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        if (_udpForwards.Count == 0 || !_udpForwards.TryGet(new UdpForwardKey(source, sourcePort, destination, destinationPort), out var flow))
        {
            return false;
        }

        flow.ExpiresAt = NowMs + _options.Limits.UdpIdleTimeoutMs;
        flow.LastActivityMs = NowMs;
        NoteDeadline(flow.ExpiresAt);
        _udpForwardReply?.Invoke(flow, payload);
        return true;
    }

    private UdpForwardReply? _udpForwardReply;

    internal delegate void UdpForwardReply(UdpForwardFlow flow, ReadOnlySpan<byte> payload);

    internal void SetUdpForwardReply(UdpForwardReply reply) => _udpForwardReply = reply;

    private Action<UdpForwardFlow>? _udpForwardClosed;

    /// <summary>Whom to tell that a forward flow is gone, so its host side forgets the client.</summary>
    internal void SetUdpForwardClosed(Action<UdpForwardFlow> closed) => _udpForwardClosed = closed;

    private void ExpireUdpForwards(long now)
    {
        var due = _udpForwards.CollectDue(now, out var next);
        foreach (var key in due)
        {
            if (_udpForwards.Remove(key, out var flow))
            {
                CloseUdpForward(flow);
            }
        }

        NoteDeadline(next);
    }

    /// <summary>
    /// Closes the forward flow idle longest (counted), for a new client past the forwards' share:
    /// the forward keeps serving new clients, at the cost of the one that went quiet longest, and
    /// the guest's own flows are not touched. False when there is none.
    /// </summary>
    private bool EvictUdpForward()
    {
        if (!_udpForwards.TryGetNextDue(out var key, out var flow))
        {
            return false;
        }

        _udpForwards.Remove(key, out _);
        CloseUdpForward(flow);
        Counters.Drop(FrameDropReason.UdpFlowEvicted);
        return true;
    }

    /// <summary>
    /// A forward flow left the table: its host side drops the client's entry now, as a client
    /// that never comes back (a new source port per datagram) would otherwise keep it for good.
    /// </summary>
    private void CloseUdpForward(UdpForwardFlow flow)
    {
        flow.Closed = true;
        _udpForwardClosed?.Invoke(flow);
    }

    /// <summary>A UDP forward flow's ends as the guest sees them (IPv4 ends as IPv4-mapped addresses).</summary>
    private readonly record struct UdpForwardKey(Ipv6Address Guest, ushort GuestPort, Ipv6Address Foreign, ushort ForeignPort);
}
