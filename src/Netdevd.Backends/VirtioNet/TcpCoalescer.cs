using System.Runtime.InteropServices;
using Netdevd.Core.Clients;
using Netdevd.Wire;

namespace Netdevd.Backends.VirtioNet;

/// <summary>
/// Software GRO for a tap with virtio-net headers whose peer sends plain frames, or single segments
/// behind a header with at most NEEDS_CSUM (the user netdev's TCP): consecutive
/// in-order TCP segments of one flow (IPv4 or IPv6) that arrive in one batch become one
/// GSO_TCPV4 or GSO_TCPV6 super-frame (NEEDS_CSUM, gso_size = the first segment's payload), written with one write(2)
/// instead of one per segment; the receiving stack then handles one large packet, as the
/// kernel's own GRO would give it. <see cref="SoftwareOffload"/> segments such a frame back into
/// the original segments.
/// </summary>
/// <remarks>
/// Conservative, as the kernel's tcp_gro_receive: IPv4 without options or fragmentation, or IPv6
/// without extension headers; no Ethernet padding, checksums verified (a bad segment is never
/// hidden inside a merge), same addresses, ports, TOS/traffic class, TTL/hop limit, DF, flow
/// label, ack, window, data offset and option bytes, sequence numbers
/// contiguous, flags ACK (PSH allowed, which ends the run), every segment but the last exactly
/// gso_size long, at most 64 KiB of IP datagram. Anything else is not taken and goes out as it
/// came. A single held segment goes out unchanged behind a zeroed header (its NEEDS_CSUM header if it came with one). Not thread-safe.
/// </remarks>
internal sealed class TcpCoalescer
{
    private const int Eth = EthernetFrame.HeaderLength;
    private const int L4 = Eth + Ipv4Packet.MinimumHeaderLength;
    private const int L4V6 = Eth + Ipv6Packet.HeaderLength;
    private const int MaxIpLength = 65535;

    // [virtio-net header][frame]; pinned, as it goes to write(2) on every flush.
    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(NetClient.VnetHeaderSize + NetClient.MaxFrameSize, pinned: true);
    private int _length;
    private int _segments;
    private int _mss;
    private int _tcpHeader;
    private uint _nextSeq;
    private bool _ended;
    private bool _push;

    /// <summary>Whether the first held segment came with its checksum left to the tap (NEEDS_CSUM).</summary>
    private bool _partial;

    /// <summary>Whether the held run is IPv6 (its TCP header then starts at <see cref="L4V6"/>).</summary>
    private bool _ipv6;

    /// <summary>Whether a segment or a run of them is held.</summary>
    public bool HasHeld => _length > 0;

    /// <summary>Segments in the held run.</summary>
    public int HeldSegments => _segments;

    /// <summary>Runs of two or more segments written as one super-frame (for counters).</summary>
    public long Merged { get; private set; }

    private Span<byte> HeldFrame => _buffer.AsSpan(NetClient.VnetHeaderSize, _length);

    /// <summary>
    /// Offers a plain Ethernet frame. <see cref="CoalesceResult.Taken"/>: it is held (copied);
    /// <see cref="CoalesceResult.FlushFirst"/>: it could start a run but does not continue the
    /// held one: write <see cref="Held"/>, <see cref="Clear"/>, and offer it again;
    /// <see cref="CoalesceResult.NotCandidate"/>: write the held run, then the frame as it is.
    /// </summary>
    public CoalesceResult Offer(ReadOnlySpan<byte> frame) => Offer(frame, partialChecksumStart: 0);

    /// <summary>
    /// As <see cref="Offer(ReadOnlySpan{byte})"/> for a frame that came behind a virtio-net header:
    /// <paramref name="partialChecksumStart"/> non-zero says NEEDS_CSUM with the TCP checksum from
    /// that offset (the field holds the pseudo-header sum, as the kernel's CHECKSUM_PARTIAL): then
    /// there is no checksum to verify, and a segment held alone goes out with that header.
    /// </summary>
    public CoalesceResult Offer(ReadOnlySpan<byte> frame, int partialChecksumStart)
    {
        // The packet views take writable spans; nothing here writes through this one.
        var f = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(frame), frame.Length);
        var partial = partialChecksumStart != 0;
        if (!IsCandidate(f, partial, out var ipv6) || (partial && partialChecksumStart != (ipv6 ? L4V6 : L4)))
        {
            return CoalesceResult.NotCandidate;
        }

        var tcp = TcpPacket.CreateUnchecked(f[(ipv6 ? L4V6 : L4)..]);
        var payload = tcp.Payload.Length;
        if (_length == 0)
        {
            _ipv6 = ipv6;
            _partial = partial;
            frame.CopyTo(_buffer.AsSpan(NetClient.VnetHeaderSize));
            _length = frame.Length;
            _segments = 1;
            _mss = payload;
            _tcpHeader = tcp.HeaderLength;
            _nextSeq = tcp.SequenceNumber + (uint)payload;
            _push = tcp.Psh;
            _ended = _push;
            return CoalesceResult.Taken;
        }

        if (ipv6 != _ipv6 || !(ipv6 ? ContinuesV6(f, tcp) : Continues(f, tcp)))
        {
            return CoalesceResult.FlushFirst;
        }

        tcp.Payload.CopyTo(_buffer.AsSpan(NetClient.VnetHeaderSize + _length));
        _length += payload;
        _segments++;
        _nextSeq += (uint)payload;
        _push = tcp.Psh;

        // A short segment or PSH closes the run, as in the kernel: what follows starts a new one.
        _ended = _push || payload < _mss;
        return CoalesceResult.Taken;
    }

    /// <summary>
    /// The bytes to write to the tap: virtio-net header and frame. A run becomes one GSO frame
    /// (lengths, IPv4 header checksum, TCP pseudo-header sum for NEEDS_CSUM); a single segment
    /// is left exactly as it came. Idempotent until <see cref="Clear"/>.
    /// </summary>
    public ReadOnlySpan<byte> Held()
    {
        var header = _buffer.AsSpan(0, NetClient.VnetHeaderSize);
        var l4 = _ipv6 ? L4V6 : L4;
        if (_segments < 2)
        {
            header.Clear();
            if (_partial)
            {
                new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoNone, 0, 0, (ushort)l4, 16).Write(header);
            }

            return _buffer.AsSpan(0, NetClient.VnetHeaderSize + _length);
        }

        var tcp = TcpPacket.CreateUnchecked(HeldFrame[l4..]);
        uint pseudoHeaderSum;
        if (_ipv6)
        {
            var ip6 = Ipv6Packet.CreateUnchecked(HeldFrame[Eth..]);
            ip6.PayloadLength = (ushort)(_length - L4V6);
            pseudoHeaderSum = ip6.PseudoHeaderSum(IpProtocol.Tcp, _length - L4V6);
        }
        else
        {
            var ip = Ipv4Packet.CreateUnchecked(HeldFrame[Eth..]);
            ip.TotalLength = (ushort)(_length - Eth);
            ip.FillChecksum();
            pseudoHeaderSum = ip.PseudoHeaderSum;
        }

        if (_push)
        {
            tcp.Flags |= TcpFlags.Psh;
        }

        // NEEDS_CSUM: the field holds the pseudo-header sum over the whole segment (not
        // complemented), which is what the kernel's checksum and GSO code start from.
        tcp.Checksum = Checksum.Fold(pseudoHeaderSum);
        new VirtioNetHeader(
            VirtioNetHeader.FlagNeedsCsum,
            _ipv6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4,
            (ushort)(l4 + _tcpHeader),
            (ushort)_mss,
            (ushort)l4,
            16).Write(header);
        header[VirtioNetHeader.BaseSize..].Clear();
        return _buffer.AsSpan(0, NetClient.VnetHeaderSize + _length);
    }

    /// <summary>Forgets the held run (after it was written, or on a reset).</summary>
    public void Clear()
    {
        if (_segments > 1)
        {
            Merged++;
        }

        _length = 0;
        _segments = 0;
    }

    /// <param name="partial">The TCP checksum is left to the receiver (NEEDS_CSUM): nothing to verify.</param>
    private static bool IsCandidate(Span<byte> f, bool partial, out bool ipv6)
    {
        ipv6 = false;
        if (!EthernetFrame.TryCreate(f, out var ethernet))
        {
            return false;
        }

        if (ethernet.EtherType == EtherType.Ipv6)
        {
            ipv6 = true;
            return IsCandidateV6(ethernet.Payload, partial);
        }

        // IPv4 without options or fragmentation, TCP; no padding behind the datagram.
        if (ethernet.EtherType != EtherType.Ipv4
            || !Ipv4Packet.TryCreate(ethernet.Payload, out var ip) || ip.HeaderLength != Ipv4Packet.MinimumHeaderLength
            || ip.Protocol != IpProtocol.Tcp || ip.TotalLength != ethernet.Payload.Length || ip.IsFragment
            || !TcpPacket.TryCreate(ip.Payload, out var tcp))
        {
            return false;
        }

        var tcpHeader = tcp.HeaderLength;
        if (tcp.Payload.Length == 0 || !tcp.Ack || (tcp.Flags & ~(TcpFlags.Ack | TcpFlags.Psh)) != 0)
        {
            return false;
        }

        // A segment that could not take a second as large behind it is not worth holding (nor
        // verifying): at a 64 KiB MTU every frame goes straight out.
        if (ip.TotalLength + (ip.TotalLength - Ipv4Packet.MinimumHeaderLength - tcpHeader) > MaxIpLength)
        {
            return false;
        }

        // Both checksums must verify: the merged frame's are recomputed, so a corrupt segment
        // would otherwise be accepted by the receiver.
        // A partial checksum is the sender's to leave to the receiver, never a corruption.
        return ip.VerifyChecksum() && (partial || tcp.VerifyChecksum(ip.Source, ip.Destination));
    }

    /// <summary>IPv6 with TCP right behind the fixed header (no extension headers), no padding, a verified TCP checksum.</summary>
    private static bool IsCandidateV6(Span<byte> packet, bool partial)
    {
        if (!Ipv6Packet.TryCreate(packet, out var ip) || ip.NextHeader != IpProtocol.Tcp
            || Ipv6Packet.HeaderLength + ip.PayloadLength != packet.Length
            || !TcpPacket.TryCreate(ip.Payload, out var tcp))
        {
            return false;
        }

        var tcpHeader = tcp.HeaderLength;
        if (tcp.Payload.Length == 0 || !tcp.Ack || (tcp.Flags & ~(TcpFlags.Ack | TcpFlags.Psh)) != 0)
        {
            return false;
        }

        // As for IPv4: a segment that could not take a second as large behind it goes straight out.
        if (packet.Length + (ip.PayloadLength - tcpHeader) > MaxIpLength)
        {
            return false;
        }

        return partial || tcp.VerifyChecksum(ip.Source, ip.Destination);
    }

    /// <summary>
    /// Whether an IPv6 segment continues the held run: as <see cref="Continues"/>, with the
    /// traffic class, flow label, hop limit and addresses in place of IPv4's fields.
    /// </summary>
    private bool ContinuesV6(Span<byte> f, TcpPacket tcp)
    {
        var payload = tcp.Payload.Length;
        if (_ended || tcp.HeaderLength != _tcpHeader || payload > _mss || _length - Eth + payload > MaxIpLength
            || tcp.SequenceNumber != _nextSeq)
        {
            return false;
        }

        var ip = Ipv6Packet.CreateUnchecked(f[Eth..]);
        var heldFrame = HeldFrame;
        var heldIp = Ipv6Packet.CreateUnchecked(heldFrame[Eth..]);
        var heldTcp = TcpPacket.CreateUnchecked(heldFrame[L4V6..]);
        return f[..Eth].SequenceEqual(heldFrame[..Eth]) && ip.TrafficClass == heldIp.TrafficClass
            && ip.FlowLabel == heldIp.FlowLabel && ip.HopLimit == heldIp.HopLimit
            && ip.Source == heldIp.Source && ip.Destination == heldIp.Destination
            && SameTcpHeader(tcp, heldTcp);
    }

    /// <summary>Ports, ack, data offset and reserved bits, flags but PSH, window, urgent pointer and options.</summary>
    private static bool SameTcpHeader(TcpPacket tcp, TcpPacket heldTcp) =>
        tcp.SourcePort == heldTcp.SourcePort && tcp.DestinationPort == heldTcp.DestinationPort
        && tcp.AcknowledgmentNumber == heldTcp.AcknowledgmentNumber
        && tcp.Bytes[12] == heldTcp.Bytes[12]
        && ((tcp.Flags ^ heldTcp.Flags) & ~TcpFlags.Psh) == 0
        && tcp.WindowSize == heldTcp.WindowSize && tcp.UrgentPointer == heldTcp.UrgentPointer
        && tcp.Options.SequenceEqual(heldTcp.Options);

    private bool Continues(Span<byte> f, TcpPacket tcp)
    {
        var payload = tcp.Payload.Length;
        if (_ended || tcp.HeaderLength != _tcpHeader || payload > _mss || _length - Eth + payload > MaxIpLength
            || tcp.SequenceNumber != _nextSeq)
        {
            return false;
        }

        // Ethernet header, TOS, DF, TTL, addresses (the protocol is TCP in both); then ports, ack,
        // data offset and reserved bits, flags but PSH, window, urgent pointer and options.
        var ip = Ipv4Packet.CreateUnchecked(f[Eth..]);
        var heldFrame = HeldFrame;
        var heldIp = Ipv4Packet.CreateUnchecked(heldFrame[Eth..]);
        var heldTcp = TcpPacket.CreateUnchecked(heldFrame[L4..]);
        if (!f[..Eth].SequenceEqual(heldFrame[..Eth]) || ip.TypeOfService != heldIp.TypeOfService
            || ip.DontFragment != heldIp.DontFragment || ip.TimeToLive != heldIp.TimeToLive
            || ip.Source != heldIp.Source || ip.Destination != heldIp.Destination
            || !SameTcpHeader(tcp, heldTcp))
        {
            return false;
        }

        // Without DF the IPv4 ids must count up, so segmenting back restores them.
        return ip.DontFragment || ip.Identification == (ushort)(heldIp.Identification + _segments);
    }
}
