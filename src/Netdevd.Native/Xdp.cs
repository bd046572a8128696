using System.Buffers.Binary;

namespace Netdevd.Native;

/// <summary>
/// AF_XDP (linux/if_xdp.h): the socket's options, its ring offsets and its bind address. The
/// rings themselves are <see cref="XdpRing"/>; the frame memory (UMEM) is <see cref="XdpMemory"/>.
/// </summary>
public static class Xdp
{
    public const int AF_XDP = 44;
    public const int SOL_XDP = 283;

    public const int XDP_MMAP_OFFSETS = 1;
    public const int XDP_RX_RING = 2;
    public const int XDP_TX_RING = 3;
    public const int XDP_UMEM_REG = 4;
    public const int XDP_UMEM_FILL_RING = 5;
    public const int XDP_UMEM_COMPLETION_RING = 6;
    public const int XDP_STATISTICS = 7;
    public const int XDP_OPTIONS = 8;

    /// <summary>XDP_OPTIONS: the socket is bound in zero-copy mode.</summary>
    public const uint XDP_OPTIONS_ZEROCOPY = 1;

    public const long XDP_PGOFF_RX_RING = 0;
    public const long XDP_PGOFF_TX_RING = 0x80000000;
    public const long XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
    public const long XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;

    /// <summary>Bind flags (sxdp_flags).</summary>
    public const ushort XDP_COPY = 1 << 1;
    public const ushort XDP_USE_NEED_WAKEUP = 1 << 3;

    /// <summary>The ring's flags word: the kernel wants a system call to go on.</summary>
    public const uint XDP_RING_NEED_WAKEUP = 1;

    /// <summary>XDP attach flags (linux/if_link.h).</summary>
    public const uint XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
    public const uint XDP_FLAGS_SKB_MODE = 2;
    public const uint XDP_FLAGS_DRV_MODE = 4;

    /// <summary>socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0); -1 with errno.</summary>
    public static int Socket() => Libc.Socket(AF_XDP, 3 /* SOCK_RAW */ | Libc.SOCK_CLOEXEC, 0);

    /// <summary>XDP_UMEM_REG: registers <paramref name="memory"/> as frames of <paramref name="frameSize"/> bytes.</summary>
    public static int RegisterUmem(int fd, XdpMemory memory, uint frameSize)
    {
        ArgumentNullException.ThrowIfNull(memory);

        // struct xdp_umem_reg { __u64 addr, len; __u32 chunk_size, headroom, flags, tx_metadata_len; }
        Span<byte> reg = stackalloc byte[32];
        reg.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(reg, (ulong)memory.Address);
        BinaryPrimitives.WriteUInt64LittleEndian(reg[8..], (ulong)memory.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(reg[16..], frameSize);
        return Libc.SetSockOpt(fd, SOL_XDP, XDP_UMEM_REG, reg);
    }

    /// <summary>Sizes one ring (a power of two).</summary>
    public static int SetRingSize(int fd, int ring, uint entries) => Libc.SetSockOptInt(fd, SOL_XDP, ring, (int)entries);

    /// <summary>XDP_MMAP_OFFSETS: where producer, consumer, descriptors and flags sit in each ring's mapping.</summary>
    public static bool TryGetOffsets(int fd, out XdpMmapOffsets offsets)
    {
        Span<byte> raw = stackalloc byte[128];
        var n = Libc.GetSockOpt(fd, SOL_XDP, XDP_MMAP_OFFSETS, raw);
        offsets = n == 128 ? new XdpMmapOffsets(Read(raw), Read(raw[32..]), Read(raw[64..]), Read(raw[96..])) : default;
        return n == 128;

        static XdpRingOffset Read(ReadOnlySpan<byte> r) => new(
            (long)BinaryPrimitives.ReadUInt64LittleEndian(r),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(r[8..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(r[16..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(r[24..]));
    }

    /// <summary>
    /// XDP_STATISTICS: frames the kernel dropped for this socket (too long for a UMEM frame, RX
    /// ring full, no fill-ring frame) and descriptors it refused; false with errno.
    /// </summary>
    public static bool TryGetStatistics(int fd, out long rxDropped, out long rxRingFull, out long fillRingEmpty, out long invalidDescriptors)
    {
        // struct xdp_statistics { rx_dropped, rx_invalid_descs, tx_invalid_descs, rx_ring_full, rx_fill_ring_empty_descs, tx_ring_empty_descs; }
        Span<byte> raw = stackalloc byte[48];
        raw.Clear();
        var n = Libc.GetSockOpt(fd, SOL_XDP, XDP_STATISTICS, raw);
        rxDropped = (long)BinaryPrimitives.ReadUInt64LittleEndian(raw);
        invalidDescriptors = (long)(BinaryPrimitives.ReadUInt64LittleEndian(raw[8..]) + BinaryPrimitives.ReadUInt64LittleEndian(raw[16..]));
        rxRingFull = (long)BinaryPrimitives.ReadUInt64LittleEndian(raw[24..]);
        fillRingEmpty = (long)BinaryPrimitives.ReadUInt64LittleEndian(raw[32..]);
        return n >= 24;
    }

    /// <summary>
    /// Whether the bound socket runs zero-copy (XDP_OPTIONS). In copy mode the kernel sends only
    /// inside a system call on the socket and never sets the TX ring's need_wakeup flag, so every
    /// batch for it needs a kick.
    /// </summary>
    public static bool IsZeroCopy(int fd) => Libc.GetSockOptInt(fd, SOL_XDP, XDP_OPTIONS, out var options) == 0 && (options & XDP_OPTIONS_ZEROCOPY) != 0;

    /// <summary>bind(2) to an interface queue (struct sockaddr_xdp).</summary>
    public static int Bind(int fd, uint ifindex, uint queue, ushort flags)
    {
        var address = new byte[16];
        BinaryPrimitives.WriteUInt16LittleEndian(address, AF_XDP);
        BinaryPrimitives.WriteUInt16LittleEndian(address.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(address.AsSpan(4), ifindex);
        BinaryPrimitives.WriteUInt32LittleEndian(address.AsSpan(8), queue);
        return Libc.Bind(fd, SockAddr.FromBytes(address));
    }

    /// <summary>The wake-up the kernel asks for with <see cref="XDP_RING_NEED_WAKEUP"/> on the TX ring: sendto with nothing.</summary>
    public static nint Kick(int fd) => Libc.SendTo(fd, [], 0x40 /* MSG_DONTWAIT */, (SockAddr?)null);
}

/// <summary>struct xdp_ring_offset: byte offsets into one ring's mapping.</summary>
public readonly record struct XdpRingOffset(long Producer, long Consumer, long Descriptors, long Flags);

/// <summary>struct xdp_mmap_offsets: the four rings.</summary>
public readonly record struct XdpMmapOffsets(XdpRingOffset Rx, XdpRingOffset Tx, XdpRingOffset Fill, XdpRingOffset Completion);
