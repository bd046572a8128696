using System.Buffers.Binary;
using Netdevd.Core.Clients;

namespace Netdevd.Backends.VirtioNet;

/// <summary>
/// Software GRO for a tap with virtio-net headers whose peer sends plain frames: consecutive
/// in-order TCP/IPv4 segments of one flow that arrive in one batch become one GSO_TCPV4
/// super-frame (NEEDS_CSUM, gso_size = the first segment's payload), written with one write(2)
/// instead of one per segment; the receiving stack then handles one large packet, as the
/// kernel's own GRO would give it. <see cref="SoftwareOffload"/> segments such a frame back into
/// the original segments.
/// </summary>
/// <remarks>
/// Conservative, as the kernel's tcp_gro_receive: IPv4 without options or fragmentation, no
/// Ethernet padding, both checksums verified (a bad segment is never hidden inside a merge), same
/// addresses, ports, TOS, TTL, DF, ack, window, data offset and option bytes, sequence numbers
/// contiguous, flags ACK (PSH allowed, which ends the run), every segment but the last exactly
/// gso_size long, at most 64 KiB of IP datagram. Anything else is not taken and goes out as it
/// came. A single held segment goes out unchanged behind a zeroed header. Not thread-safe.
/// </remarks>
internal sealed class TcpCoalescer
{
    private const int Eth = 14;
    private const int L4 = Eth + 20;
    private const byte TcpAck = 0x10;
    private const byte TcpPsh = 0x08;
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

    /// <summary>Whether a segment or a run of them is held.</summary>
    public bool HasHeld => _length > 0;

    /// <summary>Segments in the held run.</summary>
    public int HeldSegments => _segments;

    /// <summary>Runs of two or more segments written as one super-frame (for counters).</summary>
    public long Merged { get; private set; }

    /// <summary>
    /// Offers a plain Ethernet frame. <see cref="CoalesceResult.Taken"/>: it is held (copied);
    /// <see cref="CoalesceResult.FlushFirst"/>: it could start a run but does not continue the
    /// held one: write <see cref="Held"/>, <see cref="Clear"/>, and offer it again;
    /// <see cref="CoalesceResult.NotCandidate"/>: write the held run, then the frame as it is.
    /// </summary>
    public CoalesceResult Offer(ReadOnlySpan<byte> frame)
    {
        if (!IsCandidate(frame, out var tcpHeader))
        {
            return CoalesceResult.NotCandidate;
        }

        var payload = frame.Length - L4 - tcpHeader;
        if (_length == 0)
        {
            frame.CopyTo(_buffer.AsSpan(NetClient.VnetHeaderSize));
            _length = frame.Length;
            _segments = 1;
            _mss = payload;
            _tcpHeader = tcpHeader;
            _nextSeq = BinaryPrimitives.ReadUInt32BigEndian(frame[(L4 + 4)..]) + (uint)payload;
            _push = (frame[L4 + 13] & TcpPsh) != 0;
            _ended = _push;
            return CoalesceResult.Taken;
        }

        if (!Continues(frame, tcpHeader, payload))
        {
            return CoalesceResult.FlushFirst;
        }

        frame[(L4 + tcpHeader)..].CopyTo(_buffer.AsSpan(NetClient.VnetHeaderSize + _length));
        _length += payload;
        _segments++;
        _nextSeq += (uint)payload;
        _push = (frame[L4 + 13] & TcpPsh) != 0;

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
        var frame = _buffer.AsSpan(NetClient.VnetHeaderSize, _length);
        if (_segments < 2)
        {
            header.Clear();
            return _buffer.AsSpan(0, NetClient.VnetHeaderSize + _length);
        }

        var ip = frame[Eth..L4];
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(_length - Eth));
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Finish(InternetChecksum.Add(0, ip)));
        if (_push)
        {
            frame[L4 + 13] |= TcpPsh;
        }

        // NEEDS_CSUM: the field holds the pseudo-header sum over the whole segment (not
        // complemented), which is what the kernel's checksum and GSO code start from.
        var pseudo = InternetChecksum.PseudoHeader(ip, ipv6: false, 6, _length - L4);
        BinaryPrimitives.WriteUInt16BigEndian(frame[(L4 + 16)..], InternetChecksum.Fold(pseudo));
        new VirtioNetHeader(
            VirtioNetHeader.FlagNeedsCsum,
            VirtioNetHeader.GsoTcpV4,
            (ushort)(L4 + _tcpHeader),
            (ushort)_mss,
            L4,
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

    private static bool IsCandidate(ReadOnlySpan<byte> f, out int tcpHeader)
    {
        tcpHeader = 0;
        if (f.Length < L4 + 20 || f[12] != 0x08 || f[13] != 0x00 || f[Eth] != 0x45 || f[Eth + 9] != 6)
        {
            return false;
        }

        // No padding behind the datagram, no fragment (MF clear, offset zero).
        if (BinaryPrimitives.ReadUInt16BigEndian(f[(Eth + 2)..]) != f.Length - Eth
            || (BinaryPrimitives.ReadUInt16BigEndian(f[(Eth + 6)..]) & 0x3fff) != 0)
        {
            return false;
        }

        tcpHeader = (f[L4 + 12] >> 4) * 4;
        var flags = f[L4 + 13];
        if (tcpHeader < 20 || f.Length <= L4 + tcpHeader || (flags & TcpAck) == 0 || (flags & ~(TcpAck | TcpPsh)) != 0)
        {
            return false;
        }

        // A segment that could not take a second as large behind it is not worth holding (nor
        // verifying): at a 64 KiB MTU every frame goes straight out.
        var ipLength = f.Length - Eth;
        if (ipLength + (ipLength - 20 - tcpHeader) > MaxIpLength)
        {
            return false;
        }

        // Both checksums must verify: the merged frame's are recomputed, so a corrupt segment
        // would otherwise be accepted by the receiver.
        if (InternetChecksum.Fold(InternetChecksum.Add(0, f[Eth..L4])) != 0xffff)
        {
            return false;
        }

        var sum = InternetChecksum.PseudoHeader(f[Eth..], ipv6: false, 6, f.Length - L4);
        return InternetChecksum.Fold(InternetChecksum.Add(sum, f[L4..])) == 0xffff;
    }

    private bool Continues(ReadOnlySpan<byte> f, int tcpHeader, int payload)
    {
        var held = _buffer.AsSpan(NetClient.VnetHeaderSize, _length);
        if (_ended || tcpHeader != _tcpHeader || payload > _mss || _length - Eth + payload > MaxIpLength
            || BinaryPrimitives.ReadUInt32BigEndian(f[(L4 + 4)..]) != _nextSeq)
        {
            return false;
        }

        // Ethernet header, TOS, DF, TTL, protocol, addresses; then ports, ack, data offset and
        // flags (but PSH), window, urgent pointer and options byte for byte.
        if (!f[..Eth].SequenceEqual(held[..Eth]) || f[Eth + 1] != held[Eth + 1]
            || ((f[Eth + 6] ^ held[Eth + 6]) & 0x40) != 0 || f[Eth + 8] != held[Eth + 8]
            || !f[(Eth + 12)..L4].SequenceEqual(held[(Eth + 12)..L4])
            || !f[L4..(L4 + 4)].SequenceEqual(held[L4..(L4 + 4)])
            || !f[(L4 + 8)..(L4 + 13)].SequenceEqual(held[(L4 + 8)..(L4 + 13)])
            || ((f[L4 + 13] ^ held[L4 + 13]) & ~TcpPsh) != 0
            || !f[(L4 + 14)..(L4 + 16)].SequenceEqual(held[(L4 + 14)..(L4 + 16)])
            || !f[(L4 + 18)..(L4 + tcpHeader)].SequenceEqual(held[(L4 + 18)..(L4 + tcpHeader)]))
        {
            return false;
        }

        // Without DF the IPv4 ids must count up, so segmenting back restores them.
        return (f[Eth + 6] & 0x40) != 0
            || BinaryPrimitives.ReadUInt16BigEndian(f[(Eth + 4)..]) == (ushort)(BinaryPrimitives.ReadUInt16BigEndian(held[(Eth + 4)..]) + _segments);
    }
}
