using System.Runtime.InteropServices;

namespace Netdevd.Native;

/// <summary>
/// A reusable sendmmsg(2) batch: frames are copied into one native slab as they come and leave
/// as one datagram each with a single system call. All go to one destination (or, without one,
/// to the connected peer). Allocated once per socket; not thread-safe (the owner locks).
/// </summary>
public sealed unsafe class DatagramSendBatch : IDisposable
{
    private readonly MultiMessageHeader* _headers;
    private readonly IoVector* _iov;
    private readonly byte* _slab;
    private readonly byte* _address;
    private readonly int _addressLength;
    private int _first;
    private int _count;
    private int _used;
    private bool _disposed;

    public DatagramSendBatch(int capacityBytes, int maxMessages, SockAddr? destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        CapacityBytes = capacityBytes;
        MaxMessages = maxMessages;
        _headers = (MultiMessageHeader*)NativeMemory.AllocZeroed((nuint)maxMessages, (nuint)sizeof(MultiMessageHeader));
        _iov = (IoVector*)NativeMemory.AllocZeroed((nuint)maxMessages, (nuint)sizeof(IoVector));
        _slab = (byte*)NativeMemory.Alloc((nuint)capacityBytes);
        if (destination is not null)
        {
            // A native copy, so every call can point at it without pinning.
            _addressLength = destination.Bytes.Length;
            _address = (byte*)NativeMemory.Alloc((nuint)_addressLength);
            destination.Bytes.CopyTo(new Span<byte>(_address, _addressLength));
        }

        for (var i = 0; i < maxMessages; i++)
        {
            _headers[i].Header.Iov = &_iov[i];
            _headers[i].Header.IovLength = 1;
            _headers[i].Header.Name = _address;
            _headers[i].Header.NameLength = (uint)_addressLength;
        }
    }

    public int CapacityBytes { get; }

    public int MaxMessages { get; }

    /// <summary>Datagrams held and not yet sent.</summary>
    public int Count => _count - _first;

    public bool IsEmpty => _first == _count;

    /// <summary>Copies <paramref name="frame"/> in as the next datagram; false when the batch is full.</summary>
    public bool TryAppend(ReadOnlySpan<byte> frame) => TryAppend(default, frame);

    /// <summary>
    /// Copies <paramref name="header"/> and <paramref name="frame"/> in, back to back, as the next
    /// datagram (an encapsulation header in front of the frame); false when the batch is full.
    /// </summary>
    public bool TryAppend(ReadOnlySpan<byte> header, ReadOnlySpan<byte> frame)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsEmpty)
        {
            _first = _count = _used = 0;
        }

        var length = header.Length + frame.Length;
        if (_count == MaxMessages || CapacityBytes - _used < length)
        {
            return false;
        }

        var at = _slab + _used;
        header.CopyTo(new Span<byte>(at, header.Length));
        frame.CopyTo(new Span<byte>(at + header.Length, frame.Length));
        _iov[_count] = new IoVector(at, length);
        _used += length;
        _count++;
        return true;
    }

    /// <summary>
    /// sendmmsg of the held datagrams, oldest first. Returns how many left (they are forgotten),
    /// or -1 with errno (<see cref="Errno.Last"/>) when the first could not be sent; it is then
    /// still held: try again later, or <see cref="DropFirst"/> it.
    /// </summary>
    public int Send(int fd, int flags)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsEmpty)
        {
            return 0;
        }

        var n = Libc.SendMMsg(fd, _headers + _first, _count - _first, flags);
        if (n > 0)
        {
            _first += n;
        }

        return n;
    }

    /// <summary>Forgets the oldest held datagram (one the kernel refused for good).</summary>
    public void DropFirst()
    {
        if (!IsEmpty)
        {
            _first++;
        }
    }

    /// <summary>Forgets everything held.</summary>
    public void Clear() => _first = _count = _used = 0;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        NativeMemory.Free(_headers);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_slab);
        NativeMemory.Free(_address);
        GC.SuppressFinalize(this);
    }
}
