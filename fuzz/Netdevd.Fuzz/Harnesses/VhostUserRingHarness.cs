using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Fuzz.Support;
using Netdevd.Native;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// The ring walk of the vhost-user back-end over a hostile driver's ring: byte 0 picks the ring
/// size (a power of two, 1..256), EVENT_IDX (bit 4), a packed ring (bit 5) and, for a packed
/// ring, the base's wrap counter (bit 6); byte 1 where the ring lies (wholly inside the 64 KiB
/// region, straddling its end, or misaligned) and the base; the rest is copied over the region
/// (descriptor table or ring, available ring or driver event structure, used ring or device
/// event structure, buffers). Every chain the ring offers is taken
/// and walked, every buffer read and, when writable, written; used entries are published. The
/// walk must end (each chain within the ring size, the whole within the available count), and
/// any access outside the mapping throws (SharedMapping checks it): both are findings.
/// </summary>
public static class VhostUserRingHarness
{
    private const ulong GuestBase = 0x10000;
    private const ulong UserBase = 0x7f0000000000;
    private const long RegionSize = 0x10000;

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 2)
        {
            return;
        }

        var size = 1u << ((input[0] & 0x7) + ((input[0] >> 3) & 1));
        var eventIndex = (input[0] & 0x10) != 0;
        using var fd = new SafeFileHandle(Libc.MemfdCreate("fuzz-ring", Libc.MFD_CLOEXEC), ownsHandle: true);
        if (fd.IsInvalid || Libc.Ftruncate((int)fd.DangerousGetHandle(), RegionSize) != 0)
        {
            throw new InvalidOperationException($"memfd: {Errno.Message(Errno.Last)}");
        }

        using var view = SharedMapping.TryMap(fd, RegionSize, out _) ?? throw new InvalidOperationException("mmap");
        var body = input[2..];
        body[..(int)Math.Min(body.Length, RegionSize)].CopyTo(view.Span(0, (int)RegionSize));
        using var memory = GuestMemory.TryMap([new MemoryRegionDescription(GuestBase, (ulong)RegionSize, UserBase, 0)], [fd], out var error)
            ?? throw new InvalidOperationException(error);

        // Ring placement: at the start (0), near the end so parts straddle it (1), misaligned (2), or as the input says (3).
        var placement = input[1] & 0x3;
        ulong descriptors = UserBase, available = UserBase + 0x1000, used = UserBase + 0x2000;
        if (placement == 1)
        {
            used = UserBase + (ulong)RegionSize - 8;
        }
        else if (placement == 2)
        {
            descriptors += 8;
        }
        else if (placement == 3 && body.Length >= 24)
        {
            descriptors = BinaryPrimitives.ReadUInt64LittleEndian(body);
            available = BinaryPrimitives.ReadUInt64LittleEndian(body[8..]);
            used = BinaryPrimitives.ReadUInt64LittleEndian(body[16..]);
        }

        var packed = (input[0] & 0x20) != 0;
        var @base = (ushort)((input[1] >> 2) | (packed && (input[0] & 0x40) != 0 ? PackedRingLayout.WrapBit : 0));
        var queue = Virtqueue.TryCreate(memory, new VringAddress(0, 0, descriptors, used, available, 0), size, @base, eventIndex, packed, out _);
        if (queue is null)
        {
            return;
        }

        var taken = 0;
        while (queue.TryTake(out var head, out var fault))
        {
            if (++taken > size)
            {
                throw new FuzzFindingException($"took {taken} chains from a ring of {size}");
            }

            var chain = queue.Walk(head);
            var buffers = 0;
            uint written = 0;
            while (chain.TryNext(out var buffer, out fault))
            {
                if (++buffers > size)
                {
                    throw new FuzzFindingException($"a chain of more than {size} buffers");
                }

                var span = buffer.Span;
                if (span.Length > 0)
                {
                    _ = span[0] ^ span[^1];
                    if (buffer.Writable)
                    {
                        span[^1] = 0x5a;
                        written += (uint)span.Length;
                    }
                }
            }

            queue.AddUsed(head, written);
            _ = fault;
        }

        queue.PublishUsed();
        _ = queue.ShouldSignal();
        _ = queue.SetKickWanted(true);
    }
}
