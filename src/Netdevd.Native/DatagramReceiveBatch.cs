using System.Runtime.InteropServices;

namespace Netdevd.Native;

/// <summary>
/// A reusable recvmmsg(2) batch: <see cref="Capacity"/> slots of <see cref="SlotSize"/> bytes in
/// one native slab, with their mmsghdr/iovec arrays, allocated once per socket. Large slots cost
/// address space only: the kernel touches the pages a datagram fills, so small frames keep the
/// resident size small. Not thread-safe: one poll thread owns it.
/// </summary>
public sealed unsafe class DatagramReceiveBatch : IDisposable
{
    // One cmsghdr (16 bytes on LP64) plus a 4-byte SO_RXQ_OVFL counter, aligned to 8.
    private const int ControlSlot = 32;

    private readonly MultiMessageHeader* _headers;
    private readonly IoVector* _iov;
    private readonly byte* _slab;
    private readonly byte* _control;
    private bool _disposed;

    public DatagramReceiveBatch(int capacity, int slotSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slotSize, 1);
        Capacity = capacity;
        SlotSize = slotSize;
        _headers = (MultiMessageHeader*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(MultiMessageHeader));
        _iov = (IoVector*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(IoVector));
        _control = (byte*)NativeMemory.AllocZeroed((nuint)capacity, ControlSlot);
        _slab = (byte*)NativeMemory.Alloc((nuint)capacity * (nuint)slotSize);
        for (var i = 0; i < capacity; i++)
        {
            _iov[i] = new IoVector(_slab + ((nint)i * slotSize), slotSize);
            _headers[i].Header.Iov = &_iov[i];
            _headers[i].Header.IovLength = 1;
        }
    }

    public int Capacity { get; }

    public int SlotSize { get; }

    /// <summary>
    /// The kernel's count of datagrams this socket dropped for want of buffer space, as last
    /// reported with a received datagram (needs SO_RXQ_OVFL on the socket; 0 otherwise).
    /// </summary>
    public uint KernelDrops { get; private set; }

    /// <summary>
    /// Receives up to <see cref="Capacity"/> datagrams without blocking. Returns how many
    /// (0 never; the kernel says EAGAIN instead) or -1 with errno (<see cref="Errno.Last"/>).
    /// </summary>
    public int Receive(int fd)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (var i = 0; i < Capacity; i++)
        {
            _headers[i].Header.Control = _control + ((nint)i * ControlSlot);
            _headers[i].Header.ControlLength = ControlSlot;
            _headers[i].Header.Flags = 0;
            _headers[i].Length = 0;
        }

        var n = Libc.RecvMMsg(fd, _headers, Capacity, Libc.MSG_DONTWAIT);
        if (n > 0)
        {
            ReadDropCounter(n - 1);
        }

        return n;
    }

    /// <summary>Datagram <paramref name="index"/> of the last <see cref="Receive"/>; valid until the next one.</summary>
    public ReadOnlySpan<byte> Get(int index, out bool truncated)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Capacity);
        truncated = (_headers[index].Header.Flags & Libc.MSG_TRUNC) != 0;
        var length = (int)Math.Min(_headers[index].Length, (uint)SlotSize);
        return new ReadOnlySpan<byte>(_slab + ((nint)index * SlotSize), length);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        NativeMemory.Free(_headers);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_control);
        NativeMemory.Free(_slab);
        GC.SuppressFinalize(this);
    }

    private void ReadDropCounter(int index)
    {
        var header = &_headers[index].Header;
        var length = (int)header->ControlLength;
        var control = (byte*)header->Control;
        var offset = 0;
        while (offset + 16 <= length)
        {
            var cmsgLength = (int)*(nuint*)(control + offset);
            if (cmsgLength < 16 || offset + cmsgLength > length)
            {
                return;
            }

            if (*(int*)(control + offset + 8) == Libc.SOL_SOCKET && *(int*)(control + offset + 12) == Libc.SO_RXQ_OVFL && cmsgLength >= 20)
            {
                KernelDrops = *(uint*)(control + offset + 16);
            }

            offset += (cmsgLength + 7) & ~7;
        }
    }
}
