using Microsoft.Win32.SafeHandles;

namespace Netdevd.Native;

/// <summary>
/// A shared read-write mapping of a descriptor (mmap MAP_SHARED), as vhost-user maps the
/// front-end's memory regions. The only way in is <see cref="Span"/>, which checks the range
/// against the mapping, so code outside this layer reads and writes shared memory without
/// pointers and never outside it. Disposing unmaps; callers make sure no one uses a span of it
/// after that (vhost-user quiesces its rings first).
/// </summary>
public sealed unsafe class SharedMapping : IDisposable
{
    private nint _address;

    private SharedMapping(nint address, long length)
    {
        _address = address;
        Length = length;
    }

    public long Length { get; }

    /// <summary>mmap of the first <paramref name="length"/> bytes of <paramref name="fd"/>; null with <paramref name="errno"/> when refused.</summary>
    public static SharedMapping? TryMap(SafeFileHandle fd, long length, out int errno)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        var added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            var address = Libc.Mmap(0, (nuint)length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, (int)fd.DangerousGetHandle(), 0);
            if (address == Libc.MapFailed)
            {
                errno = Errno.Last;
                return null;
            }

            errno = 0;
            return new SharedMapping(address, length);
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }

    /// <summary>[<paramref name="offset"/>, +<paramref name="length"/>) of the mapping; throws outside it or after disposal.</summary>
    public Span<byte> Span(long offset, int length)
    {
        var address = _address;
        ObjectDisposedException.ThrowIf(address == 0, this);

        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Length}-byte mapping");
        }

        return new Span<byte>((byte*)address + offset, length);
    }

    public void Dispose()
    {
        var address = Interlocked.Exchange(ref _address, 0);
        if (address != 0)
        {
            _ = Libc.Munmap(address, (nuint)Length);
        }
    }
}
