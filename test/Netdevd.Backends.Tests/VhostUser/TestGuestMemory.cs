using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.VhostUser;

/// <summary>
/// A front-end's memory for the tests: a memfd with one region (guest 0x100000, user
/// 0x7f0000000000, 0x1000 into the file), mapped here for the test to write rings and buffers
/// into, and mapped again by <see cref="GuestMemory"/> as the back-end would.
/// </summary>
internal sealed class TestGuestMemory : IDisposable
{
    public const ulong GuestBase = 0x100000;
    public const ulong UserBase = 0x7f0000000000;
    public const ulong FileOffset = 0x1000;
    public const ulong Size = 0x100000;

    private readonly SharedMapping _view;

    public TestGuestMemory()
    {
        var fd = Libc.MemfdCreate("netdevd-test", Libc.MFD_CLOEXEC);
        Assert.True(fd >= 0);
        Fd = new SafeFileHandle(fd, ownsHandle: true);
        Assert.Equal(0, Libc.Ftruncate(fd, (long)(FileOffset + Size)));
        _view = SharedMapping.TryMap(Fd, (long)(FileOffset + Size), out _)!;
        Region = new MemoryRegionDescription(GuestBase, Size, UserBase, FileOffset);
        Memory = GuestMemory.TryMap([Region], [Fd], out var error) ?? throw new InvalidOperationException(error);
    }

    public SafeFileHandle Fd { get; }

    public MemoryRegionDescription Region { get; }

    public GuestMemory Memory { get; }

    /// <summary>Bytes at guest physical <paramref name="guest"/>, as the guest sees them.</summary>
    public Span<byte> At(ulong guest, int length) => _view.Span((long)(FileOffset + guest - GuestBase), length);

    public void Dispose()
    {
        Memory.Dispose();
        _view.Dispose();
        Fd.Dispose();
    }
}

/// <summary>A split ring laid out in <see cref="TestGuestMemory"/> as a driver would: the test plays the driver.</summary>
internal sealed class TestDriverRing
{
    public const ulong BuffersAt = TestGuestMemory.GuestBase + 0x40000;

    private readonly TestGuestMemory _memory;
    private ushort _availableIndex;

    /// <param name="at">Where the ring's three parts start (64 KiB of room; buffers are elsewhere).</param>
    public TestDriverRing(TestGuestMemory memory, ushort size, ulong at = TestGuestMemory.GuestBase)
    {
        _memory = memory;
        Size = size;
        DescriptorsAt = at;
        AvailableAt = at + 0x8000;
        UsedAt = at + 0xa000;
    }

    public ulong DescriptorsAt { get; }

    public ulong AvailableAt { get; }

    public ulong UsedAt { get; }

    public ushort Size { get; }

    /// <summary>The ring's address as SET_VRING_ADDR gives it (front-end user addresses).</summary>
    public VringAddress Address => new(0, 0, ToUser(DescriptorsAt), ToUser(UsedAt), ToUser(AvailableAt), 0);

    /// <summary>The driver's next available index (what it has offered so far).</summary>
    public ushort AvailableIndex => _availableIndex;

    public static ulong ToUser(ulong guest) => guest - TestGuestMemory.GuestBase + TestGuestMemory.UserBase;

    public void SetDescriptor(int index, ulong address, uint length, ushort flags, ushort next)
    {
        var d = _memory.At(DescriptorsAt + (ulong)(16 * index), 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    /// <summary>Makes chain <paramref name="head"/> available.</summary>
    public void Offer(ushort head)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_memory.At(AvailableAt + 4 + (ulong)(2 * (_availableIndex % Size)), 2), head);
        _availableIndex++;
        SetAvailableIndex(_availableIndex);
    }

    public void SetAvailableIndex(ushort index) => BinaryPrimitives.WriteUInt16LittleEndian(_memory.At(AvailableAt + 2, 2), index);

    public void SetUsedEvent(ushort index) => BinaryPrimitives.WriteUInt16LittleEndian(_memory.At(AvailableAt + 4 + (ulong)(2 * Size), 2), index);

    public void SetAvailableFlags(ushort flags) => BinaryPrimitives.WriteUInt16LittleEndian(_memory.At(AvailableAt, 2), flags);

    public ushort UsedIndex => BinaryPrimitives.ReadUInt16LittleEndian(_memory.At(UsedAt + 2, 2));

    public ushort UsedFlags => BinaryPrimitives.ReadUInt16LittleEndian(_memory.At(UsedAt, 2));

    public ushort AvailableEvent => BinaryPrimitives.ReadUInt16LittleEndian(_memory.At(UsedAt + 4 + (ulong)(8 * Size), 2));

    public (uint Id, uint Length) Used(int slot)
    {
        var e = _memory.At(UsedAt + 4 + (ulong)(8 * (slot % Size)), 8);
        return (BinaryPrimitives.ReadUInt32LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[4..]));
    }
}
