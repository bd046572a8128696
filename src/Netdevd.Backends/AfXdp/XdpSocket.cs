using Netdevd.Native;

namespace Netdevd.Backends.AfXdp;

/// <summary>
/// One AF_XDP socket with its own UMEM and four rings, made in QEMU's two steps: the UMEM
/// (socket, registration, fill and completion rings: "failed to create umem") and the socket
/// proper (RX and TX rings, bind: "failed to create AF_XDP socket"). The UMEM's first half
/// receives (it sits in the fill ring or in the peer's hands), its second half transmits, so
/// the receiving thread and the sending thread never share a free list.
/// </summary>
internal sealed class XdpSocket : IDisposable
{
    /// <summary>QEMU's XSK_UMEM__DEFAULT_FRAME_SIZE: the largest frame either way.</summary>
    public const int FrameSize = 4096;

    /// <summary>Entries per ring and frames per half: QEMU's 2048-entry rings (16 MiB of UMEM per queue).</summary>
    public const uint LargeRings = 2048;

    /// <summary>
    /// What a netdevd without CAP_IPC_LOCK falls back to when the kernel refuses the UMEM
    /// (ENOBUFS: it charges UMEM to RLIMIT_MEMLOCK, 8 MiB by default): 4 MiB per queue, so an
    /// unprivileged netdevd (sock-fds) with two queues fits.
    /// </summary>
    public const uint SmallRings = 512;

    private XdpSocket(int fd)
    {
        Fd = fd;
    }

    public int Fd { get; private set; }

    public XdpMemory? Memory { get; private set; }

    public XdpRing? Fill { get; private set; }

    public XdpRing? Completion { get; private set; }

    public XdpRing? Rx { get; private set; }

    public XdpRing? Tx { get; private set; }

    /// <summary>Entries per ring, frames per half of the UMEM.</summary>
    public uint RingSize { get; private set; }

    /// <summary>UMEM offsets of the transmit half, a stack.</summary>
    public ulong[] TxFree { get; private set; } = [];

    public int TxFreeCount { get; set; }

    /// <summary>Bound zero-copy: the kernel transmits by itself unless the TX ring asks for a wake-up.</summary>
    public bool ZeroCopy { get; private set; }

    /// <summary>
    /// The UMEM step on a new socket (<paramref name="fd"/> &lt; 0) or on one handed over; null with
    /// errno. A handed-over descriptor is closed on failure too: the netdev owned it.
    /// </summary>
    public static XdpSocket? CreateUmem(int fd, out int errno)
    {
        if (fd < 0)
        {
            fd = Xdp.Socket();
            if (fd < 0)
            {
                errno = Errno.Last;
                return null;
            }
        }

        var s = new XdpSocket(fd);
        errno = s.SetUpUmem();
        if (errno != 0)
        {
            s.Dispose();
            return null;
        }

        return s;
    }

    private int SetUpUmem()
    {
        foreach (var size in (ReadOnlySpan<uint>)[LargeRings, SmallRings])
        {
            RingSize = size;
            Memory = XdpMemory.Allocate(2L * size * FrameSize);
            if (Memory is null)
            {
                return Errno.Last;
            }

            if (Xdp.RegisterUmem(Fd, Memory, FrameSize) == 0)
            {
                break;
            }

            var errno = Errno.Last;
            Memory.Dispose();
            Memory = null;
            if (errno != Errno.ENOBUFS || size == SmallRings)
            {
                return errno;
            }
        }

        if (Xdp.SetRingSize(Fd, Xdp.XDP_UMEM_FILL_RING, RingSize) < 0
            || Xdp.SetRingSize(Fd, Xdp.XDP_UMEM_COMPLETION_RING, RingSize) < 0)
        {
            return Errno.Last;
        }

        if (!Xdp.TryGetOffsets(Fd, out var offsets))
        {
            return Errno.Last;
        }

        Fill = XdpRing.Map(Fd, Xdp.XDP_UMEM_PGOFF_FILL_RING, offsets.Fill, RingSize, descriptors: false, produced: true);
        if (Fill is null)
        {
            return Errno.Last;
        }

        Completion = XdpRing.Map(Fd, Xdp.XDP_UMEM_PGOFF_COMPLETION_RING, offsets.Completion, RingSize, descriptors: false, produced: false);
        if (Completion is null)
        {
            return Errno.Last;
        }

        // Every receive frame goes to the kernel now; the transmit half waits on its stack.
        _ = Fill.TryReserve(RingSize, out var index);
        for (var i = 0u; i < RingSize; i++)
        {
            Fill.SetAddress(index + i, (ulong)i * FrameSize);
        }

        Fill.Submit();
        TxFree = new ulong[RingSize];
        for (var i = 0; i < RingSize; i++)
        {
            TxFree[i] = (ulong)(RingSize + RingSize - 1 - (uint)i) * FrameSize;
        }

        TxFreeCount = (int)RingSize;
        return 0;
    }

    /// <summary>The socket step: RX and TX rings, then bind to the queue; 0 or errno.</summary>
    public int Bind(uint ifindex, uint queue, bool forceCopy)
    {
        if (Rx is null)
        {
            if (Xdp.SetRingSize(Fd, Xdp.XDP_RX_RING, RingSize) < 0 || Xdp.SetRingSize(Fd, Xdp.XDP_TX_RING, RingSize) < 0)
            {
                return Errno.Last;
            }

            if (!Xdp.TryGetOffsets(Fd, out var offsets))
            {
                return Errno.Last;
            }

            Rx = XdpRing.Map(Fd, Xdp.XDP_PGOFF_RX_RING, offsets.Rx, RingSize, descriptors: true, produced: false);
            if (Rx is null)
            {
                return Errno.Last;
            }

            Tx = XdpRing.Map(Fd, Xdp.XDP_PGOFF_TX_RING, offsets.Tx, RingSize, descriptors: true, produced: true);
            if (Tx is null)
            {
                return Errno.Last;
            }
        }

        var flags = (ushort)(Xdp.XDP_USE_NEED_WAKEUP | (forceCopy ? Xdp.XDP_COPY : 0));
        if (Xdp.Bind(Fd, ifindex, queue, flags) < 0)
        {
            return Errno.Last;
        }

        ZeroCopy = Xdp.IsZeroCopy(Fd);
        return 0;
    }

    /// <summary>Whether <paramref name="address"/>..+<paramref name="length"/> is a receive frame of this UMEM (a descriptor from the kernel is checked before use).</summary>
    public bool IsReceiveFrame(ulong address, uint length) =>
        address < (ulong)RingSize * FrameSize && (address % FrameSize) + length <= FrameSize;

    public void Dispose()
    {
        Rx?.Dispose();
        Tx?.Dispose();
        Fill?.Dispose();
        Completion?.Dispose();
        if (Fd >= 0)
        {
            Libc.Close(Fd);
            Fd = -1;
        }

        // The kernel lets go of the UMEM with the socket; only then may its pages go.
        Memory?.Dispose();
    }
}
