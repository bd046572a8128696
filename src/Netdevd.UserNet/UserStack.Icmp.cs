using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// ICMP echo: answered here for the virtual addresses (as libslirp), forwarded through host ICMP
/// sockets otherwise; destination unreachable to the guest for what the host cannot route.
/// </summary>
public sealed partial class UserStack
{
    /// <summary>RFC 1812 4.3.2.3: an ICMP error, its IP header included, is at most 576 bytes.</summary>
    private const int MaxIcmpErrorDatagram = 576;

    private readonly FlowTable<(Ipv4Address, ushort, Ipv4Address), IcmpFlow> _icmp = new(4);
    private readonly IcmpErrorLimit _icmpErrorLimit = new();

    public int IcmpFlowCount => _icmp.Count;

    /// <summary>ICMP errors sent to the guest (destination unreachable).</summary>
    public long IcmpErrorsSent { get; private set; }

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

        if (!TryTakeHop(ip, hostDestination, out var ttl))
        {
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
        if (!Host.SendIcmp(flow, icmp.Bytes, ttl))
        {
            // libslirp's icmp_input answers a send that fails with a network unreachable.
            Counters.Drop(FrameDropReason.HostSocketFailed);
            SendIcmpError(ip, IcmpPacket.TypeDestinationUnreachable, IcmpPacket.CodeNetUnreachable);
        }
    }

    /// <summary>
    /// Sends the guest an ICMP error about <paramref name="offending"/>, a datagram it sent: from
    /// the virtual host (libslirp's icmp_send_error), quoting the datagram as far as RFC 1812's 576
    /// bytes allow. Never about an ICMP error, a fragment other than the first, or a datagram from
    /// or to no single host (RFC 1122 3.2.2); at most <see cref="IcmpErrorLimit.PerSecond"/> a second.
    /// </summary>
    private void SendIcmpError(Ipv4Packet offending, byte type, byte code) => SendIcmpError(offending, type, code, _options.Host);

    /// <summary>
    /// <see cref="SendIcmpError(Ipv4Packet, byte, byte)"/> from <paramref name="from"/> (a relayed
    /// error's sender), with <paramref name="ttl"/> (a relayed error's: as it came, less the hop).
    /// </summary>
    private void SendIcmpError(Ipv4Packet offending, byte type, byte code, Ipv4Address from, byte ttl = 64)
    {
        var source = offending.Source;
        var destination = offending.Destination;
        if (source.IsAny || source.IsBroadcast || source.IsMulticast || destination.IsBroadcast || destination.IsMulticast ||
            offending.FragmentOffset != 0 || IsIcmpError(offending) || !_icmpErrorLimit.TryTake(NowMs))
        {
            return;
        }

        var datagram = offending.Bytes;
        var quoted = Math.Min(datagram.Length, MaxIcmpErrorDatagram - Ipv4Packet.MinimumHeaderLength - IcmpPacket.HeaderLength);
        var l4 = BeginIpv4(from, source, IpProtocol.Icmp, IcmpPacket.HeaderLength + quoted, out var frame, ttl: ttl);
        if (l4.IsEmpty)
        {
            return;
        }

        var error = IcmpHeader.CreateUnchecked(l4);
        error.Type = type;
        error.Code = code;
        error.RestOfHeader = 0;
        datagram[..quoted].CopyTo(error.Data);
        IcmpPacket.CreateUnchecked(l4).FillChecksum();
        IcmpErrorsSent++;
        Commit(frame, Headers + l4.Length);
    }

    /// <summary>Whether a datagram is itself an ICMP error (destination unreachable, source quench, redirect, time exceeded, parameter problem).</summary>
    private static bool IsIcmpError(Ipv4Packet datagram) =>
        datagram.Protocol == IpProtocol.Icmp && datagram.Payload.Length > 0 && datagram.Payload[0] is 3 or 4 or 5 or 11 or 12;

    /// <summary>
    /// An echo reply (ICMP header and data) arrived on the flow's host socket, with TTL
    /// <paramref name="ttl"/> (0: not known); it reaches the guest with one less, as through a router.
    /// </summary>
    internal void OnIcmpReply(IcmpFlow flow, ReadOnlySpan<byte> reply, byte ttl = 0)
    {
        if (reply.Length < IcmpPacket.HeaderLength)
        {
            return;
        }

        flow.ExpiresAt = NowMs + _options.Limits.IcmpIdleTimeoutMs;
        flow.LastActivityMs = NowMs;
        NoteDeadline(flow.ExpiresAt);
        SendEchoReply(flow.ForeignAddress, flow.GuestAddress, flow.Identifier, reply, ForwardedTtl(ttl, 64));
    }

    /// <summary>Writes an echo reply with the request's (or the host reply's) data, restoring the guest's identifier.</summary>
    private void SendEchoReply(Ipv4Address source, Ipv4Address guest, ushort identifier, ReadOnlySpan<byte> echo, byte ttl = 64)
    {
        var l4 = BeginIpv4(source, guest, IpProtocol.Icmp, echo.Length, out var frame, ttl: ttl);
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
