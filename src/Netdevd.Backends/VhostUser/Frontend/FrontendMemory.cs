using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Native;

namespace Netdevd.Backends.VhostUser.Frontend;

/// <summary>
/// The memory a vhost-user front-end owns and lends to its back-end: one memfd, mapped here and
/// sent in SET_MEM_TABLE as the only region. It holds every ring, then every ring's buffers,
/// one <see cref="BufferSize"/> buffer per descriptor, so a frame never spans buffers.
/// </summary>
internal sealed class FrontendMemory : IDisposable
{
    /// <summary>Descriptors per ring: enough in flight for a 64 KiB-frame TCP window, small enough to map cheaply.</summary>
    public const int RingSize = 256;

    /// <summary>QEMU's NET_BUFSIZE: the largest frame plus header (17 pages).</summary>
    public const int BufferSize = 69632;

    /// <summary>The region's "guest physical" base: descriptors carry these addresses.</summary>
    public const ulong GuestBase = 1UL << 32;

    /// <summary>The region's base in the front-end's "user" address space: ring addresses carry these.</summary>
    public const ulong UserBase = 1UL << 40;

    private readonly long _ringBytes;
    private readonly long _buffersStart;

    private FrontendMemory(SafeFileHandle fd, SharedMapping mapping, int queues, long ringBytes, long buffersStart)
    {
        Fd = fd;
        Mapping = mapping;
        Queues = queues;
        _ringBytes = ringBytes;
        _buffersStart = buffersStart;
    }

    public SafeFileHandle Fd { get; }

    public SharedMapping Mapping { get; }

    public int Queues { get; }

    public long Length => Mapping.Length;

    /// <summary>Creates and maps the memfd for <paramref name="queues"/> rings (receive and transmit of each pair).</summary>
    public static FrontendMemory Create(int queues)
    {
        var ringBytes = SplitDriverRing.Bytes(RingSize);
        var buffersStart = ringBytes * queues;
        var length = buffersStart + ((long)queues * RingSize * BufferSize);
        var raw = Libc.MemfdCreate("netdevd-vhost-user", Libc.MFD_CLOEXEC);
        if (raw < 0)
        {
            throw new VhostUserFrontendException($"memfd_create: {Errno.Message(Errno.Last)}");
        }

        var fd = new SafeFileHandle(raw, ownsHandle: true);
        if (Libc.Ftruncate(raw, length) != 0)
        {
            var errno = Errno.Last;
            fd.Dispose();
            throw new VhostUserFrontendException($"ftruncate: {Errno.Message(errno)}");
        }

        var mapping = SharedMapping.TryMap(fd, length, out var mapErrno);
        if (mapping is null)
        {
            fd.Dispose();
            throw new VhostUserFrontendException($"mmap: {Errno.Message(mapErrno)}");
        }

        return new FrontendMemory(fd, mapping, queues, ringBytes, buffersStart);
    }

    /// <summary>The one region of the memory table.</summary>
    public MemoryRegionDescription Region => new(GuestBase, (ulong)Length, UserBase, 0);

    public long RingOffset(int queue) => _ringBytes * queue;

    public long BufferOffset(int queue, int id) => _buffersStart + ((((long)queue * RingSize) + id) * BufferSize);

    public Span<byte> Buffer(int queue, int id, int length) => Mapping.Span(BufferOffset(queue, id), length);

    public static ulong Guest(long offset) => GuestBase + (ulong)offset;

    public static ulong User(long offset) => UserBase + (ulong)offset;

    public void Dispose()
    {
        Mapping.Dispose();
        Fd.Dispose();
    }
}
