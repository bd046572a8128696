using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>ICMP echo: answered here for the virtual addresses (as libslirp), forwarded through host ICMP sockets otherwise.</summary>
public sealed partial class UserStack
{
    private readonly FlowTable<(Ipv4Address, ushort, Ipv4Address), IcmpFlow> _icmp = new(4);

    public int IcmpFlowCount => _icmp.Count;

    /// <summary>The echo flows of both families: what <see cref="NatLimits.MaxIcmpFlows"/> bounds.</summary>
    private int AllIcmpFlows => _icmp.Count + _icmp6.Count;

    private void InputIcmp(Ipv4Packet ip)
    {
        if (!IcmpPacket.TryCreate(ip.Payload, out var icmp))
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        if (!_inputChecksumVerified && !icmp.VerifyChecksum())
        {
            Counters.Drop(FrameDropReason.BadChecksum);
            return;
        }

        if (icmp.Header.Type != IcmpPacket.TypeEchoRequest)
        {
            Counters.Drop(FrameDropReason.UnsupportedProtocol);
            return;
        }

        var destination = ip.Destination;
        if (IsVirtualAddress(destination))
        {
            SendEchoReply(destination, ip.Source, icmp.Header.Identifier, icmp.Bytes);
            return;
        }

        if (_options.Restrict)
        {
            Counters.Drop(FrameDropReason.Restricted);
            return;
        }

        if (MapToHost(destination) is not { } hostDestination)
        {
            Counters.Drop(FrameDropReason.NotForUs);
            return;
        }

        var key = (ip.Source, icmp.Header.Identifier, destination);
        if (!_icmp.TryGet(key, out var flow))
        {
            if (AllIcmpFlows >= _options.Limits.MaxIcmpFlows)
            {
                Counters.Drop(FrameDropReason.IcmpFlowLimit);
                return;
            }

            flow = new IcmpFlow(ip.Source, icmp.Header.Identifier, destination, hostDestination);
            if (!Host.OpenIcmp(flow))
            {
                Counters.Drop(FrameDropReason.IcmpUnavailable);
                return;
            }

            _icmp.Add(key, flow);
        }

        flow.ExpiresAt = NowMs + _options.Limits.IcmpIdleTimeoutMs;
        flow.LastActivityMs = NowMs;
        NoteDeadline(flow.ExpiresAt);
        Host.SendIcmp(flow, icmp.Bytes);
    }

    /// <summary>An echo reply (ICMP header and data) arrived on the flow's host socket.</summary>
    internal void OnIcmpReply(IcmpFlow flow, ReadOnlySpan<byte> reply)
    {
        if (reply.Length < IcmpPacket.HeaderLength)
        {
            return;
        }

        flow.ExpiresAt = NowMs + _options.Limits.IcmpIdleTimeoutMs;
        flow.LastActivityMs = NowMs;
        NoteDeadline(flow.ExpiresAt);
        SendEchoReply(flow.ForeignAddress, flow.GuestAddress, flow.Identifier, reply);
    }

    /// <summary>Writes an echo reply with the request's (or the host reply's) data, restoring the guest's identifier.</summary>
    private void SendEchoReply(Ipv4Address source, Ipv4Address guest, ushort identifier, ReadOnlySpan<byte> echo)
    {
        var l4 = BeginIpv4(source, guest, IpProtocol.Icmp, echo.Length, out var frame);
        if (l4.IsEmpty)
        {
            return;
        }

        echo.CopyTo(l4);
        var reply = IcmpHeader.CreateUnchecked(l4);
        reply.Type = IcmpPacket.TypeEchoReply;
        reply.Code = 0;
        reply.Identifier = identifier;
        IcmpPacket.CreateUnchecked(l4).FillChecksum();
        Commit(frame, Headers + echo.Length);
    }

    private void ExpireIcmp(long now)
    {
        var due = _icmp.CollectDue(now, out var next);
        foreach (var key in due)
        {
            if (_icmp.Remove(key, out var flow))
            {
                _host?.CloseIcmp(flow);
            }
        }

        NoteDeadline(next);
    }
}
