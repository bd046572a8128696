using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.VhostUser.Protocol;

namespace Netdevd.Backends.Tests.VhostUser;

public sealed class GuestMemoryTests
{
    [Fact]
    public void Translation_reaches_the_front_ends_bytes_through_both_address_spaces()
    {
        using var memory = new TestGuestMemory();
        memory.At(TestGuestMemory.GuestBase + 0x10, 3).Fill(0xab);
        Assert.True(memory.Memory.TryTranslateGuest(TestGuestMemory.GuestBase + 0x10, 3, out var guest));
        Assert.Equal(new byte[] { 0xab, 0xab, 0xab }, guest.Span.ToArray());
        Assert.True(memory.Memory.TryTranslateUser(TestGuestMemory.UserBase + 0x10, 3, out var user));
        Assert.Equal(guest.Offset, user.Offset);
    }

    [Theory]
    [InlineData(TestGuestMemory.GuestBase - 1, 1ul)]
    [InlineData(TestGuestMemory.GuestBase + TestGuestMemory.Size - 1, 2ul)]
    [InlineData(TestGuestMemory.GuestBase + TestGuestMemory.Size, 1ul)]
    [InlineData(TestGuestMemory.GuestBase, TestGuestMemory.Size + 1)]
    [InlineData(ulong.MaxValue, 2ul)]
    [InlineData(TestGuestMemory.GuestBase + 8, ulong.MaxValue - 4)]
    [InlineData(0ul, 0x1000ul)]
    public void Ranges_not_wholly_inside_a_region_are_refused(ulong address, ulong length)
    {
        using var memory = new TestGuestMemory();
        Assert.False(memory.Memory.TryTranslateGuest(address, length, out _));
        Assert.False(memory.Memory.TryTranslateUser(address, length, out _));
    }

    [Fact]
    public void The_last_byte_of_a_region_is_inside_it()
    {
        using var memory = new TestGuestMemory();
        Assert.True(memory.Memory.TryTranslateGuest(TestGuestMemory.GuestBase + TestGuestMemory.Size - 1, 1, out var range));
        range.Span[0] = 7;
        Assert.Equal(7, memory.At(TestGuestMemory.GuestBase + TestGuestMemory.Size - 1, 1)[0]);
    }

    [Fact]
    public void A_region_count_other_than_the_descriptor_count_is_refused()
    {
        using var memory = new TestGuestMemory();
        Assert.Null(GuestMemory.TryMap([memory.Region, memory.Region with { GuestAddress = 0x10000000, UserAddress = 0x10000000 }], [memory.Fd], out var error));
        Assert.Contains("2 regions but 1 descriptors", error, StringComparison.Ordinal);
        Assert.Null(GuestMemory.TryMap([memory.Region], [], out _));
    }

    [Fact]
    public void Overlapping_regions_are_refused()
    {
        using var memory = new TestGuestMemory();
        var second = memory.Region with { GuestAddress = TestGuestMemory.GuestBase + 0x1000, UserAddress = 0x10000000 };
        Assert.Null(GuestMemory.TryMap([memory.Region, second], [memory.Fd, memory.Fd], out var error));
        Assert.Contains("overlap", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0ul, 0ul, 0ul, 0ul)]
    [InlineData(ulong.MaxValue - 0xfff, 0x1000ul, 0ul, 0ul)]
    [InlineData(0ul, 0x1000ul, ulong.MaxValue - 0xfff, 0ul)]
    [InlineData(0ul, 0x1000ul, 0ul, ulong.MaxValue - 0xfff)]
    [InlineData(0ul, 0x1000ul, 0ul, 0x7fff_ffff_ffff_f000ul)]
    public void Empty_or_wrapping_regions_are_refused(ulong guest, ulong size, ulong user, ulong offset)
    {
        using var memory = new TestGuestMemory();
        Assert.Null(GuestMemory.TryMap([new MemoryRegionDescription(guest, size, user, offset)], [memory.Fd], out var error));
        Assert.Contains("malformed", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_descriptor_that_cannot_be_mapped_is_refused_with_the_reason()
    {
        // The front-end's memfd reopened read-only: a shared writable mapping is refused (EACCES).
        using var memory = new TestGuestMemory();
        using var readOnly = File.OpenHandle($"/proc/self/fd/{memory.Fd.DangerousGetHandle()}", FileMode.Open, FileAccess.Read);
        var table = new MemoryRegionDescription(0, 0x1000, 0x1000, 0);
        Assert.Null(GuestMemory.TryMap([table], new List<SafeFileHandle> { readOnly }, out var error));
        Assert.Contains("mmap of memory region 0", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_region_past_the_end_of_its_memfd_is_refused_instead_of_faulting_on_access()
    {
        using var memory = new TestGuestMemory();
        var longer = memory.Region with { Size = TestGuestMemory.Size + 0x1000 };
        Assert.Null(GuestMemory.TryMap([longer], [memory.Fd], out var error));
        Assert.Contains("runs past the end", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sealable_memfd_cannot_be_shrunk_by_the_front_end_once_mapped()
    {
        // An unsealed memfd made with MFD_ALLOW_SEALING, as a hostile front-end could send.
        var fd = Netdevd.Native.Libc.MemfdCreate("hostile", Netdevd.Native.Libc.MFD_CLOEXEC | Netdevd.Native.Libc.MFD_ALLOW_SEALING);
        Assert.True(fd >= 0);
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        Assert.Equal(0, Netdevd.Native.Libc.Ftruncate(fd, 0x4000));
        var region = new MemoryRegionDescription(0, 0x4000, 0x7000_0000, 0);
        using var mapped = GuestMemory.TryMap([region], [handle], out var error);
        Assert.True(mapped is not null, error);

        // The front-end truncating it now would make netdevd's next access raise SIGBUS.
        Assert.Equal(-1, Netdevd.Native.Libc.Ftruncate(fd, 0x1000));
        Assert.True(Netdevd.Native.Libc.FileSize(handle, out var size));
        Assert.Equal(0x4000, size);
    }
}
