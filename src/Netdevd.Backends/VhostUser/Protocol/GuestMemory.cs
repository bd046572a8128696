using Microsoft.Win32.SafeHandles;
using Netdevd.Native;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// The front-end's memory table, mapped: each region's descriptor mmap'ed shared, and the two
/// translations a back-end needs, guest physical (descriptor buffers) and front-end user
/// addresses (ring addresses) to a range of a mapping. A translation succeeds only when the whole
/// range lies inside one region; anything else is refused, so no access ever leaves a mapping
/// (and <see cref="SharedMapping.Span"/> checks again). Immutable once made; a new table replaces
/// it and this one is disposed once no ring uses it.
/// </summary>
public sealed class GuestMemory : IDisposable
{
    private readonly Region[] _regions;
    private int _disposed;

    private GuestMemory(Region[] regions) => _regions = regions;

    public int RegionCount => _regions.Length;

    /// <summary>What region <paramref name="index"/> describes (for tests and logs).</summary>
    public MemoryRegionDescription Describe(int index) => _regions[index].Description;

    /// <summary>Maps the regions of <paramref name="table"/>, region i from <paramref name="fds"/>[i]; see the other overload.</summary>
    public static GuestMemory? TryMap(scoped MemoryTablePayload table, IReadOnlyList<SafeFileHandle> fds, out string error)
    {
        var descriptions = new MemoryRegionDescription[table.Count];
        for (var i = 0; i < descriptions.Length; i++)
        {
            descriptions[i] = table[i];
        }

        return TryMap(descriptions, fds, out error);
    }

    /// <summary>
    /// Maps region i from <paramref name="fds"/>[i]. Fails (mapping nothing) when the counts
    /// differ, a region is malformed, two regions overlap in guest or user space, or mmap
    /// refuses. A region that runs past the end of its descriptor's memory is refused too: mmap
    /// would accept it and the first access past the end would kill the process with SIGBUS.
    /// </summary>
    public static GuestMemory? TryMap(ReadOnlySpan<MemoryRegionDescription> descriptions, IReadOnlyList<SafeFileHandle> fds, out string error)
    {
        ArgumentNullException.ThrowIfNull(fds);
        if (fds.Count != descriptions.Length)
        {
            error = $"memory table has {descriptions.Length} regions but {fds.Count} descriptors came with it";
            return null;
        }

        for (var i = 0; i < descriptions.Length; i++)
        {
            var d = descriptions[i];
            if (!d.IsWellFormed || d.MmapOffset + d.Size > long.MaxValue)
            {
                error = $"memory region {i} is malformed (guest 0x{d.GuestAddress:x}, size 0x{d.Size:x}, user 0x{d.UserAddress:x}, offset 0x{d.MmapOffset:x})";
                return null;
            }

            for (var j = 0; j < i; j++)
            {
                var o = descriptions[j];
                if (Overlaps(d.GuestAddress, d.Size, o.GuestAddress, o.Size) || Overlaps(d.UserAddress, d.Size, o.UserAddress, o.Size))
                {
                    error = $"memory regions {j} and {i} overlap";
                    return null;
                }
            }
        }

        var regions = new Region[descriptions.Length];
        var mapped = 0;
        try
        {
            for (; mapped < regions.Length; mapped++)
            {
                var d = descriptions[mapped];
                if (!Libc.FileSize(fds[mapped], out var fileSize) || (ulong)fileSize < d.MmapOffset + d.Size)
                {
                    error = $"memory region {mapped} (0x{d.MmapOffset + d.Size:x} bytes from offset 0) runs past the end of its descriptor ({fileSize} bytes)";
                    return null;
                }

                // A front-end that shrank the memory after we mapped it would make our next access
                // fault (SIGBUS, the end of the process). QEMU's memfd backend seals it already;
                // seal any other sealable memfd ourselves. File-backed memory (hugetlbfs) cannot
                // be sealed: the front-end, which owns the VM, is trusted not to truncate it.
                _ = Libc.SealAgainstShrinking((int)fds[mapped].DangerousGetHandle());

                // The offset need not be page-aligned: map from 0 and step over it, as back-ends
                // do; the pages before it are the front-end's and stay unused.
                var mapping = SharedMapping.TryMap(fds[mapped], (long)(d.MmapOffset + d.Size), out var errno);
                if (mapping is null)
                {
                    error = $"mmap of memory region {mapped} (0x{d.MmapOffset + d.Size:x} bytes): {Errno.Message(errno)}";
                    return null;
                }

                regions[mapped] = new Region(d, mapping);
            }

            error = "";
            var memory = new GuestMemory(regions);
            mapped = 0;
            return memory;
        }
        finally
        {
            // On failure, undo the mappings made so far (on success mapped was reset to 0).
            for (var i = 0; i < mapped; i++)
            {
                regions[i].Mapping.Dispose();
            }
        }
    }

    /// <summary>Guest physical [<paramref name="address"/>, +<paramref name="length"/>), all in one region.</summary>
    public bool TryTranslateGuest(ulong address, ulong length, out HostRange range)
    {
        foreach (var r in _regions)
        {
            if (Contains(r.Description.GuestAddress, r.Description.Size, address, length) && length <= int.MaxValue)
            {
                range = new HostRange(r.Mapping, (long)(r.Description.MmapOffset + (address - r.Description.GuestAddress)), (int)length);
                return true;
            }
        }

        range = default;
        return false;
    }

    /// <summary>Front-end user [<paramref name="address"/>, +<paramref name="length"/>) (ring addresses), all in one region.</summary>
    public bool TryTranslateUser(ulong address, ulong length, out HostRange range)
    {
        foreach (var r in _regions)
        {
            if (Contains(r.Description.UserAddress, r.Description.Size, address, length) && length <= int.MaxValue)
            {
                range = new HostRange(r.Mapping, (long)(r.Description.MmapOffset + (address - r.Description.UserAddress)), (int)length);
                return true;
            }
        }

        range = default;
        return false;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var r in _regions)
        {
            r.Mapping.Dispose();
        }
    }

    /// <summary>Whether [start, start+length) lies in [base, base+size), with no overflow anywhere.</summary>
    private static bool Contains(ulong regionBase, ulong regionSize, ulong start, ulong length) =>
        start >= regionBase && length <= regionSize && start - regionBase <= regionSize - length;

    private static bool Overlaps(ulong a, ulong aSize, ulong b, ulong bSize) =>
        a < b + bSize && b < a + aSize;

    private readonly record struct Region(MemoryRegionDescription Description, SharedMapping Mapping);
}
