using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>/proc/self/maps as FramePathHugePage reads it: every field it decides on, and lines it must not take for a mapping.</summary>
public sealed class SelfMappingsTests
{
    [Fact]
    public void A_file_mapping_gives_its_range_permissions_and_offset()
    {
        Assert.True(SelfMappings.TryParse("55dc4a200000-55dc4a3c2000 r-xp 00400000 fe:00 11657725                   /tmp/out/netdevd", out var m));
        Assert.Equal(new SelfMapping(0x55dc4a200000, 0x55dc4a3c2000, "r-xp", 0x400000, Anonymous: false), m);
        Assert.Equal(0x1c2000, m.Length);
    }

    [Theory]
    [InlineData("55dc4a000000-55dc4a200000 r-xp 00000000 00:00 0 ")]
    [InlineData("55dc4a000000-55dc4a200000 r-xp 00000000 00:00 0")]
    [InlineData("55dc4a000000-55dc4a200000 rw-p 00000000 00:00 0                          [heap]")]
    public void A_mapping_of_no_file_is_anonymous_named_or_not(string line)
    {
        Assert.True(SelfMappings.TryParse(line, out var m));
        Assert.True(m.Anonymous);
        Assert.Equal(0x200000, m.Length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("55dc4a000000-55dc4a200000 r-xp 00000000 00:00")]
    [InlineData("55dc4a000000 r-xp 00000000 00:00 0")]
    [InlineData("55dc4a000000-55dc4a2000zz r-xp 00000000 00:00 0")]
    [InlineData("55dc4a200000-55dc4a000000 r-xp 00000000 00:00 0")]
    [InlineData("55dc4a000000-55dc4a000000 r-xp 00000000 00:00 0")]
    [InlineData("55dc4a000000-55dc4a200000 r-x 00000000 00:00 0")]
    [InlineData("55dc4a000000-55dc4a200000 r-xp 0000000g 00:00 0")]
    [InlineData("ffffffffffffffffff-55dc4a200000 r-xp 00000000 00:00 0")]
    [InlineData("Size:               2048 kB")]
    public void Lines_that_are_not_a_mapping_are_refused(string line)
    {
        Assert.False(SelfMappings.TryParse(line, out _));
    }

    [Fact]
    public void The_mapping_of_a_live_address_is_found()
    {
        // Native memory of the test's own: an anonymous read-write mapping holds it.
        var block = System.Runtime.InteropServices.Marshal.AllocHGlobal(64);
        try
        {
            var address = (long)block;
            Assert.True(SelfMappings.TryFind(address, out var m));
            Assert.True(m.Start <= address && address < m.End);
            Assert.Equal("rw-p", m.Permissions);
        }
        finally
        {
            System.Runtime.InteropServices.Marshal.FreeHGlobal(block);
        }

        Assert.False(SelfMappings.TryFind(0, out _));
    }
}
