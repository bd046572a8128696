using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>UDP host forwards: host clients mapped to virtual-host ports the guest answers to.</summary>
public sealed partial class UserStack
{
    private readonly FlowTable<ushort, UdpForwardFlow> _udpForwards = new(4);

    /// <summary>A new host client of a UDP forward; null (counted) when the UDP flow limit is reached.</summary>
    internal UdpForwardFlow? OpenUdpForward(Ipv4Address guest, ushort guestPort, object hostState)
    {
        if (_udp.Count + _udpForwards.Count >= _options.Limits.MaxUdpFlows)
        {
            Counters.Drop(FrameDropReason.UdpFlowLimit);
            return null;
        }

        ushort port;
        do
        {
            port = _nextForwardPort;
            _nextForwardPort = _nextForwardPort == ushort.MaxValue ? FirstForwardPort : (ushort)(_nextForwardPort + 1);
        }
        while (_udpForwards.Contains(port));

        var flow = new UdpForwardFlow(guest, guestPort, port, hostState) { ExpiresAt = NowMs + _options.Limits.UdpIdleTimeoutMs, LastActivityMs = NowMs };
        NoteDeadline(flow.ExpiresAt);
        _udpForwards.Add(port, flow);
        return flow;
    }

    /// <summary>A datagram from the forward's host client, for the guest.</summary>
    internal void OnUdpForwardDatagram(UdpForwardFlow flow, ReadOnlySpan<byte> payload)
    {
        flow.ExpiresAt = NowMs + _options.Limits.UdpIdleTimeoutMs;
        flow.LastActivityMs = NowMs;
        NoteDeadline(flow.ExpiresAt);
        SendUdpToGuest(_options.Host, flow.ForeignPort, flow.GuestAddress, flow.GuestPort, payload);
    }

    /// <summary>The guest's datagram to the virtual host: an answer to a forward's client, if one matches.</summary>
    private bool TryUdpForwardReply(Ipv4Address source, ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        if (!_udpForwards.TryGet(destinationPort, out var flow) || flow.GuestAddress != source || flow.GuestPort != sourcePort)
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

    private void ExpireUdpForwards(long now)
    {
        var due = _udpForwards.CollectDue(now, out var next);
        foreach (var port in due)
        {
            if (_udpForwards.Remove(port, out var flow))
            {
                flow.Closed = true;
            }
        }

        NoteDeadline(next);
    }
}
