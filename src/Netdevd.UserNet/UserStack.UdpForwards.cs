using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>UDP host forwards: each host client is a flow the guest sees from the client's own address (loopback: the virtual host).</summary>
public sealed partial class UserStack
{
    private readonly Dictionary<UdpForwardKey, UdpForwardFlow> _udpForwards = [];
    private readonly List<UdpForwardKey> _expiredUdpForwards = [];

    /// <summary>
    /// A new host client <paramref name="client"/>:<paramref name="clientPort"/> of a UDP forward;
    /// null (counted) when the UDP flow limit is reached.
    /// </summary>
    internal UdpForwardFlow? OpenUdpForward(Ipv4Address guest, ushort guestPort, Ipv4Address client, ushort clientPort, object hostState)
    {
        if (_udp.Count + _udpForwards.Count >= _options.Limits.MaxUdpFlows)
        {
            Counters.Drop(FrameDropReason.UdpFlowLimit);
            return null;
        }

        var key = new UdpForwardKey(guest, guestPort, ForwardedClientAddress(client), clientPort);
        while (_udpForwards.ContainsKey(key))
        {
            // A second loopback address with the same port: see OpenForward.
            key = key with { ForeignPort = NextForwardPort() };
        }

        var flow = new UdpForwardFlow(guest, guestPort, key.ForeignAddress, key.ForeignPort, hostState) { ExpiresAt = NowMs + _options.Limits.UdpIdleTimeoutMs };
        _udpForwards.Add(key, flow);
        return flow;
    }

    /// <summary>A datagram from the forward's host client, for the guest.</summary>
    internal void OnUdpForwardDatagram(UdpForwardFlow flow, ReadOnlySpan<byte> payload)
    {
        flow.ExpiresAt = NowMs + _options.Limits.UdpIdleTimeoutMs;
        SendUdpToGuest(flow.ForeignAddress, flow.ForeignPort, flow.GuestAddress, flow.GuestPort, payload);
    }

    /// <summary>The guest's datagram: an answer to a forward's client, if one matches its four ends.</summary>
    private bool TryUdpForwardReply(Ipv4Address source, ushort sourcePort, Ipv4Address destination, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        if (_udpForwards.Count == 0 || !_udpForwards.TryGetValue(new UdpForwardKey(source, sourcePort, destination, destinationPort), out var flow))
        {
            return false;
        }

        flow.ExpiresAt = NowMs + _options.Limits.UdpIdleTimeoutMs;
        _udpForwardReply?.Invoke(flow, payload);
        return true;
    }

    private UdpForwardReply? _udpForwardReply;

    internal delegate void UdpForwardReply(UdpForwardFlow flow, ReadOnlySpan<byte> payload);

    internal void SetUdpForwardReply(UdpForwardReply reply) => _udpForwardReply = reply;

    private void ExpireUdpForwards(long now)
    {
        foreach (var (key, flow) in _udpForwards)
        {
            if (now >= flow.ExpiresAt)
            {
                _expiredUdpForwards.Add(key);
            }
        }

        foreach (var key in _expiredUdpForwards)
        {
            if (_udpForwards.Remove(key, out var flow))
            {
                flow.Closed = true;
            }
        }

        _expiredUdpForwards.Clear();
    }

    /// <summary>A UDP forward flow's ends as the guest sees them.</summary>
    private readonly record struct UdpForwardKey(Ipv4Address GuestAddress, ushort GuestPort, Ipv4Address ForeignAddress, ushort ForeignPort);
}
