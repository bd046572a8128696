using Netdevd.Qapi.Parsing;

namespace Netdevd.Qapi.Tests.Parsing;

public sealed class QemuSizeTests
{
    [Theory]
    [InlineData("0", 0UL)]
    [InlineData("1", 1UL)]
    [InlineData("1b", 1UL)]
    [InlineData("1B", 1UL)]
    [InlineData("1k", 1024UL)]
    [InlineData("1K", 1024UL)]
    [InlineData("2m", 2UL << 20)]
    [InlineData("3G", 3UL << 30)]
    [InlineData("4t", 4UL << 40)]
    [InlineData("5P", 5UL << 50)]
    [InlineData("1E", 1UL << 60)]
    [InlineData("15e", 15UL << 60)]
    [InlineData("1.5k", 1536UL)]
    [InlineData("1.k", 1024UL)]
    [InlineData(".5k", 512UL)]
    [InlineData("12.345M", 12944671UL)]
    [InlineData("0x10", 16UL)]
    [InlineData("0x1b", 27UL)]
    [InlineData(" 1k", 1024UL)]
    [InlineData("010", 10UL)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    public void Parses(string text, ulong expected)
    {
        Assert.True(QemuSize.TryParse(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("k")]
    [InlineData("-1")]
    [InlineData("-0")]
    [InlineData("1.5")]
    [InlineData("0x10k")]
    [InlineData("0x1.8")]
    [InlineData("16E")]
    [InlineData("18446744073709551616")]
    [InlineData("1 ")]
    [InlineData("1kk")]
    [InlineData("1e3")]
    [InlineData("inf")]
    public void Rejects(string text)
    {
        Assert.False(QemuSize.TryParse(text, out _));
    }
}
