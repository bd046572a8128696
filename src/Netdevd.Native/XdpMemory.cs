namespace Netdevd.Native;

/// <summary>
/// Anonymous page-aligned memory the kernel and netdevd share as an AF_XDP UMEM: frames are
/// addressed by their byte offset. Freed when disposed (after the socket is closed).
/// </summary>
public sealed unsafe class XdpMemory : IDisposable
{
    private nint _address;

    private XdpMemory(nint address, long length)
    {
        _address = address;
        Length = length;
    }

    public nint Address => _address;

    public long Length { get; }

    /// <summary>Maps <paramref name="length"/> bytes, or null with errno set.</summary>
    public static XdpMemory? Allocate(long length)
    {
        var p = Libc.Mmap(0, (nuint)length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        return p == Libc.MapFailed ? null : new XdpMemory(p, length);
    }

    /// <summary>The bytes of one frame at UMEM offset <paramref name="offset"/>; checked against the area.</summary>
    public Span<byte> Slice(ulong offset, int length)
    {
        if (_address == 0 || length < 0 || offset > (ulong)Length || (ulong)length > (ulong)Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), "outside the UMEM");
        }

        return new Span<byte>((byte*)_address + offset, length);
    }

    public void Dispose()
    {
        var p = _address;
        _address = 0;
        if (p != 0)
        {
            _ = Libc.Munmap(p, (nuint)Length);
        }
    }
}
