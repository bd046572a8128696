using System.Net;
using System.Security.Cryptography;
using Netdevd.Native;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>TCP: guest segments to connections, connection output to frames, host events back in.</summary>
public sealed partial class UserStack
{
    private const int Headers = EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength;
    private readonly FlowTable<TcpFlowAddress, TcpConnection> _tcp;
    private readonly TcpOutput _tcpOutput;
    private readonly List<TcpConnection> _deferred = [];
    private bool _inputBatch;
    private TcpSettings? _smallFlowSettings;

    /// <summary>Open TCP connections (all states but Closed).</summary>
    public int TcpFlowCount => _tcp.Count;

    private void InputTcp(Ipv4Packet ip)
    {
        if (!TcpPacket.TryCreate(ip.Payload, out var tcp))
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        if (!_inputChecksumVerified && !tcp.VerifyChecksum(ip.Source, ip.Destination))
        {
            Counters.Drop(FrameDropReason.BadChecksum);
            return;
        }

        if (ip.Destination.IsBroadcast || ip.Destination.IsMulticast || ip.Source.IsBroadcast || ip.Source.IsMulticast)
        {
            // RFC 9293 3.10.7.1 (RFC 1122 4.2.3.10): TCP has no broadcast or multicast ends; such a
            // segment is dropped silently, never answered with a reset from a group address.
            Counters.Drop(FrameDropReason.NotForUs);
            return;
        }

        InputTcpSegment(new TcpFlowAddress(ip.Source, tcp.SourcePort, ip.Destination, tcp.DestinationPort), tcp, ip.Bytes);
    }

    /// <summary>
    /// A guest segment of either family, checksum verified: to its connection, or a new one, or a
    /// reset. <paramref name="datagram"/>: the IP datagram that carried it (a new connection's hop).
    /// </summary>
    private void InputTcpSegment(in TcpFlowAddress key, TcpPacket tcp, Span<byte> datagram)
    {
        if (!TcpOptions.TryParse(tcp.Options, out var options))
        {
            // An option overruns the header: the segment still counts, without options (as Linux).
            options = default;
        }

        var seg = new TcpSegment(tcp.SequenceNumber, tcp.AcknowledgmentNumber, tcp.Flags, tcp.WindowSize, tcp.Payload, options);
        var now = NowMs;
        if (_tcp.TryGet(key, out var connection))
        {
            connection.OnSegment(seg, now);
            if (_inputBatch)
            {
                // Inside the sender's batch: answer once for all its segments at the end (one
                // cumulative ACK, one host write), as a receiver's GRO and delayed ACK would.
                if (!_deferred.Contains(connection))
                {
                    _deferred.Add(connection);
                }

                return;
            }

            Service(connection, now);
            return;
        }

        if (!seg.Syn || seg.Ack || seg.Rst)
        {
            if (!seg.Rst)
            {
                SendReset(key, seg);
            }

            return;
        }

        var target = key.IsIpv4 ? ResolveTcpTarget(key.ForeignAddress, key.ForeignPort) : ResolveTcpTarget6(key.Foreign, key.ForeignPort);
        if (target is null)
        {
            Counters.Drop(FrameDropReason.Restricted);
            SendReset(key, seg);
            return;
        }

        if (!TryTakeTcpHop(key, target, datagram, out var ttl))
        {
            return;
        }

        if (_tcp.Count >= _options.Limits.MaxTcpFlows && !EvictTimeWait())
        {
            Counters.Drop(FrameDropReason.TcpFlowLimit);
            SendReset(key, seg);
            return;
        }

        if (ReserveFlowBuffers(out var reserved) is not { } settings)
        {
            Counters.Drop(FrameDropReason.MemoryLimit);
            SendReset(key, seg);
            return;
        }

        connection = TcpConnection.AcceptSyn(settings, _tcpOutput, key, seg, NewIss(), now);
        connection.BudgetBytes = reserved;
        _tcp.Add(key, connection);
        Counters.TcpFlowsOpened++;
        Host.OpenTcp(connection, target, ttl);
    }

    /// <summary>Where a guest connection to foreign:port goes: a guestfwd rule, the host (loopback), the outside, or nowhere.</summary>
    private HostTarget? ResolveTcpTarget(Ipv4Address foreign, ushort port)
    {
        foreach (var rule in _options.GuestForwards)
        {
            if (rule.Server == foreign && rule.Port == port)
            {
                return rule.Target;
            }
        }

        if (_options.Restrict)
        {
            return null;
        }

        if (foreign == _options.Dns && DnsOverTcpTarget(port) is { } dns)
        {
            return dns;
        }

        var host = MapToHost(foreign);
        return host is { } h ? new HostTarget.Tcp(new IPEndPoint(new IPAddress(ToNetworkBytes(h)), port)) : null;
    }

    /// <summary>
    /// As libslirp: a guest's TCP to the DNS address on port 53 goes to the host's nameserver (the
    /// first of the resolver file, either family, with its port), so dig +tcp and resolvers retrying
    /// a truncated answer over TCP work; null when there is no nameserver or another port. Unlike
    /// libslirp, a connect that fails goes on to the next nameserver, as the UDP queries do: a dead
    /// first one (a stopped systemd-resolved) would otherwise fail every answer too long for UDP.
    /// </summary>
    private HostTarget.Tcp? DnsOverTcpTarget(ushort port) =>
        port == DnsPort && Dns?.Resolvers is { Count: > 0 } resolvers
            ? new HostTarget.Tcp(resolvers[0], resolvers.Count > 1 ? [.. resolvers.Skip(1)] : null)
            : null;

    private static byte[] ToNetworkBytes(Ipv4Address a)
    {
        var b = new byte[4];
        a.WriteTo(b);
        return b;
    }

    private static uint NewIss() => (uint)RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue);

    /// <summary>RFC 793 reset for a segment that belongs to no connection.</summary>
    private void SendReset(in TcpFlowAddress key, in TcpSegment seg)
    {
        var (seq, ack, flags) = seg.Ack
            ? (seg.Acknowledgment, 0u, TcpFlags.Rst)
            : (0u, seg.Sequence + (uint)seg.Length, TcpFlags.Rst | TcpFlags.Ack);
        WriteTcp(key, seq, ack, flags, 0, default, default, default);
    }

    /// <summary>
    /// The guest's frames that follow, up to <see cref="EndInputBatch"/>, came from one read of the
    /// sender: connections they touch are serviced once, at the end.
    /// </summary>
    public void BeginInputBatch() => _inputBatch = true;

    /// <summary>Services every connection the batch touched (still open ones only).</summary>
    public void EndInputBatch()
    {
        _inputBatch = false;
        if (_deferred.Count == 0)
        {
            return;
        }

        var now = NowMs;
        foreach (var c in _deferred)
        {
            if (_tcp.TryGet(c.Address, out var current) && ReferenceEquals(current, c))
            {
                Service(c, now);
            }
        }

        _deferred.Clear();
    }

    /// <summary>After any event on a connection: send what it can, let the host side act, reap it when done.</summary>
    internal void Service(TcpConnection connection, long now)
    {
        connection.LastActivityMs = now;
        connection.Dispatch(now);
        if (connection.IsFinished)
        {
            Remove(connection);
            return;
        }

        NoteDeadline(connection.NextDeadline);

        _host?.SyncTcp(connection);
    }

    private void Remove(TcpConnection connection)
    {
        if (_tcp.Remove(connection.Address, out _))
        {
            _host?.CloseTcp(connection);
            connection.Dispose();
            ReleaseFlowBuffers(connection);
        }
    }

    /// <summary>
    /// Buffer sizes for a new flow within the memory budget: full size while they fit its share,
    /// then the minimum size, else null (the flow is refused and counted). Existing flows keep
    /// their buffers whatever happens.
    /// </summary>
    private TcpSettings? ReserveFlowBuffers(out long reserved)
    {
        var settings = _options.Limits.Tcp;
        reserved = RingBytes(settings.SendBufferSize) + RingBytes(settings.ReceiveBufferSize);
        if (Budget.Fits(reserved, MemoryUse.FullFlow) && Budget.TryReserve(reserved, MemoryUse.FullFlow))
        {
            return settings;
        }

        var small = _smallFlowSettings ??= settings with
        {
            SendBufferSize = Math.Min(settings.SendBufferSize, _options.Limits.MinTcpBufferSize),
            ReceiveBufferSize = Math.Min(settings.ReceiveBufferSize, _options.Limits.MinTcpBufferSize),
        };
        reserved = RingBytes(small.SendBufferSize) + RingBytes(small.ReceiveBufferSize);
        if (Budget.TryReserve(reserved, MemoryUse.SmallFlow))
        {
            return small;
        }

        reserved = 0;
        return null;
    }

    private void ReleaseFlowBuffers(TcpConnection connection)
    {
        Budget.Release(connection.BudgetBytes);
        connection.BudgetBytes = 0;
    }

    /// <summary>What a ring of <paramref name="size"/> bytes holds: the shared pool hands out powers of two.</summary>
    private static long RingBytes(int size) => (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)size);

    /// <summary>Frees the connection in TIME-WAIT for the longest, to make room; false when there is none.</summary>
    private bool EvictTimeWait()
    {
        TcpConnection? oldest = null;
        foreach (var c in _tcp.Flows)
        {
            if (c.State == TcpState.TimeWait && (oldest is null || c.NextDeadline < oldest.NextDeadline))
            {
                oldest = c;
            }
        }

        if (oldest is null)
        {
            return false;
        }

        Remove(oldest);
        return true;
    }

    /// <summary>
    /// The host socket's connect failed with <paramref name="errno"/>, at once or later (a router's
    /// ICMP error, a neighbour that never answered). As libslirp's tcp_input for a failure at once
    /// (a later one it resets): refused is a reset; an unreachable network or host is an ICMP
    /// destination unreachable quoting the guest's SYN (network or host unreachable over IPv4; no
    /// route or address unreachable over IPv6), so the guest's connect fails as unreachable, not
    /// as refused. When the connect heard the ICMP error that failed it (<paramref name="icmp"/>,
    /// from <paramref name="offender"/>: a hop's time exceeded for a traceroute's TCP probe, a
    /// router's unreachable, a firewall's port unreachable), the guest gets that error, from its
    /// sender, as for UDP (<c>UserStack.RelayedErrors.cs</c>).
    /// </summary>
    internal void OnTcpConnectFailed(TcpConnection connection, int errno, in ExtendedSocketError icmp = default, Ipv6Address offender = default)
    {
        var address = connection.Address;
        var relayed = connection.SynUnanswered && (address.IsIpv4 ? IsRelayed(icmp) : IsRelayed6(icmp));
        if (!relayed && (!connection.SynUnanswered || errno is not (Errno.ENETUNREACH or Errno.EHOSTUNREACH)))
        {
            OnTcpConnected(connection, false);
            return;
        }

        Counters.Drop(FrameDropReason.HostSocketFailed);
        var host = errno == Errno.EHOSTUNREACH;
        if (address.IsIpv4)
        {
            Span<byte> syn = stackalloc byte[Ipv4Packet.MinimumHeaderLength + TcpPacket.MinimumHeaderLength];
            Ipv4Packet.WriteHeader(syn, address.GuestAddress, address.ForeignAddress, IpProtocol.Tcp, TcpPacket.MinimumHeaderLength);
            var tcp = syn[Ipv4Packet.MinimumHeaderLength..];
            TcpPacket.WriteHeader(tcp, address.GuestPort, address.ForeignPort, connection.GuestInitialSequence, 0, TcpFlags.Syn, 0, default);
            TcpPacket.CreateUnchecked(tcp).FillChecksum(address.GuestAddress, address.ForeignAddress);
            if (relayed)
            {
                var from = offender.IsIpv4Mapped && !offender.ToIpv4Mapped().IsAny ? MapFromHost(offender.ToIpv4Mapped()) : address.ForeignAddress;
                Relay(syn, icmp, from);
            }
            else
            {
                SendIcmpError(Ipv4Packet.CreateUnchecked(syn), IcmpPacket.TypeDestinationUnreachable, host ? IcmpPacket.CodeHostUnreachable : IcmpPacket.CodeNetUnreachable);
            }
        }
        else
        {
            Span<byte> syn = stackalloc byte[Ipv6Packet.HeaderLength + TcpPacket.MinimumHeaderLength];
            Ipv6Packet.WriteHeader(syn, address.Guest, address.Foreign, IpProtocol.Tcp, TcpPacket.MinimumHeaderLength);
            var tcp = syn[Ipv6Packet.HeaderLength..];
            TcpPacket.WriteHeader(tcp, address.GuestPort, address.ForeignPort, connection.GuestInitialSequence, 0, TcpFlags.Syn, 0, default);
            TcpPacket.CreateUnchecked(tcp).FillChecksum(address.Guest, address.Foreign);
            if (relayed)
            {
                Relay6(syn, icmp, offender.IsUnspecified || offender.IsIpv4Mapped ? address.Foreign : MapFromHost6(offender));
            }
            else
            {
                SendIcmpv6Error(syn, Icmpv6Packet.TypeDestinationUnreachable, host ? Icmpv6Packet.CodeAddressUnreachable : Icmpv6Packet.CodeNoRoute, 0);
            }
        }

        connection.HostConnectFailed(reset: false);
        Service(connection, NowMs);
    }

    /// <summary>The host socket connected (true) or failed (false).</summary>
    internal void OnTcpConnected(TcpConnection connection, bool success)
    {
        if (success)
        {
            connection.HostConnected();
        }
        else
        {
            Counters.Drop(FrameDropReason.HostSocketFailed);
            connection.HostConnectFailed();
        }

        Service(connection, NowMs);
    }

    /// <summary>The host socket received <paramref name="count"/> bytes into the connection's read buffer (0: end of stream).</summary>
    internal void OnTcpReceived(TcpConnection connection, int count)
    {
        connection.HostReceived(count);
        if (connection.SendRingGrowth is > 0 and var capacity)
        {
            GrowSendRing(connection, capacity);
        }

        Service(connection, NowMs);
    }

    /// <summary>
    /// Enlarges a bulk flow's send ring when the netdev's budget has room for it in the share of
    /// full-size flows (no room: the flow keeps its ring, nothing is refused or counted).
    /// </summary>
    private void GrowSendRing(TcpConnection connection, int capacity)
    {
        var extra = RingBytes(capacity) - RingBytes(connection.SendCapacity);
        if (Budget.Fits(extra, MemoryUse.FullFlow) && Budget.TryReserve(extra, MemoryUse.FullFlow))
        {
            connection.GrowSendRing(capacity);
            connection.BudgetBytes += extra;
        }
    }

    /// <summary>The host socket sent <paramref name="count"/> bytes from the connection's write buffer.</summary>
    internal void OnTcpSent(TcpConnection connection, int count)
    {
        connection.HostWritten(count);
        Service(connection, NowMs);
    }

    /// <summary>The host socket failed or was reset.</summary>
    internal void OnTcpHostError(TcpConnection connection)
    {
        connection.HostReset();
        Service(connection, NowMs);
    }

    /// <summary>
    /// Payloads from this size on leave the send ring only when their frame goes out (a sink that
    /// takes frames in pieces, checksums left to the guest's device): a tap writes them from the
    /// ring, the one copy instead of two. Smaller ones are copied into the frame, where a tap may
    /// still merge them into one offloaded write; at this size it never would (two would not fit
    /// in one 64 KiB datagram).
    /// </summary>
    private const int GatherMinimumPayload = 32 * 1024;

    /// <returns>True when the frame went in pieces: the payload's segments are read when it goes out.</returns>
    private bool WriteTcp(in TcpFlowAddress address, uint seq, uint ack, TcpFlags flags, ushort window, in TcpOptions options,
        ArraySegment<byte> payload1, ArraySegment<byte> payload2)
    {
        var headerLength = TcpPacket.MinimumHeaderLength + options.EmittedLength;
        var payloadLength = payload1.Count + payload2.Count;
        var l4Length = headerLength + payloadLength;
        var ipv4 = address.IsIpv4;
        var gatherSink = _checksumOffload && payloadLength >= GatherMinimumPayload ? _gatherSink : null;
        var gather = gatherSink is not null;
        Span<byte> frame;
        var l4 = ipv4
            ? BeginIpv4(address.ForeignAddress, address.GuestAddress, IpProtocol.Tcp, l4Length, out frame, gather ? headerLength : -1)
            : BeginIpv6(address.Foreign, address.Guest, IpProtocol.Tcp, l4Length, out frame, allocateL4: gather ? headerLength : -1);
        if (l4.IsEmpty)
        {
            return false;
        }

        TcpPacket.WriteHeader(l4, address.ForeignPort, address.GuestPort, seq, ack, flags, window, options);
        var headers = ipv4 ? Headers : Ipv6Headers;
        var pseudoHeader = ipv4
            ? Checksum.PseudoHeader(address.ForeignAddress, address.GuestAddress, IpProtocol.Tcp, l4Length)
            : Checksum.PseudoHeader(address.Foreign, address.Guest, IpProtocol.Tcp, l4Length);
        if (gatherSink is not null)
        {
            // The same header as below; only the pseudo-header goes into the checksum, the payload
            // is summed by the guest's device and copied by the kernel's write from the ring.
            TcpPacket.CreateUnchecked(l4).Checksum = Checksum.Fold(pseudoHeader);
            Counters.FramesOut++;
            gatherSink.CommitPartialChecksumGather(headers + headerLength, headers, TcpChecksumOffset, payload1, payload2);
            return true;
        }

        payload1.AsSpan().CopyTo(l4[headerLength..]);
        payload2.AsSpan().CopyTo(l4[(headerLength + payload1.Count)..]);
        var tcp = TcpPacket.CreateUnchecked(l4);
        if (_checksumOffload)
        {
            // The guest's device (a tap's kernel, a virtio NIC) sums the segment: only the
            // pseudo-header goes in, and the data is never read here a second time.
            tcp.Checksum = Checksum.Fold(pseudoHeader);
            Commit(frame, headers + l4Length, headers);
            return false;
        }

        tcp.Checksum = tcp.ComputeChecksum(pseudoHeader);
        Commit(frame, headers + l4Length);
        return false;
    }

    /// <summary>Turns connection output into frames (kept apart so the stack's public surface stays small).</summary>
    private sealed class TcpOutput(UserStack stack) : ITcpOutput
    {
        public bool Segment(TcpConnection connection, uint sequence, uint acknowledgment, TcpFlags flags, ushort window,
            in TcpOptions options, ArraySegment<byte> payload1, ArraySegment<byte> payload2) =>
            stack.WriteTcp(connection.Address, sequence, acknowledgment, flags, window, options, payload1, payload2);
    }
}
