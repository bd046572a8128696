using Netdevd.UserNet.Services;

namespace Netdevd.UserNet.Tests.Services;

public sealed class DnsSearchEncoderTests
{
    /// <summary>RFC 3397 §2's example: the second name points at "apple.com" in the first.</summary>
    [Fact]
    public void Rfc3397_example()
    {
        var b = DnsSearchEncoder.Encode(["eng.apple.com", "marketing.apple.com"]);
        Assert.Equal(
            "771b" + "03656e67056170706c6503636f6d00" + "096d61726b6574696e67c004",
            Bytes.ToHex(b));
    }

    [Fact]
    public void Nested_suffixes_point_to_first_copy_and_duplicates_are_a_pointer()
    {
        var b = DnsSearchEncoder.Encode(["a.b.example.com", "c.example.com", "d.b.example.com", "a.b.example.com"]);
        Assert.Equal(
            "771b" + "01610162076578616d706c6503636f6d00" + "0163c004" + "0164c002" + "c000",
            Bytes.ToHex(b));
    }

    [Fact]
    public void Invalid_names_are_skipped_and_trailing_dot_is_fine()
    {
        Assert.Equal("7707016103636f6d00", Bytes.ToHex(DnsSearchEncoder.Encode(["", "a..b", "a.com."])));
        Assert.Empty(DnsSearchEncoder.Encode(["", "."]));
    }

    [Fact]
    public void Long_lists_split_into_255_byte_options()
    {
        var names = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            names.Add($"{new string((char)('a' + i), 30)}.x{i:d2}");
        }

        var b = DnsSearchEncoder.Encode(names);

        // Each name: 1+30 + 1+3 + 1 = 36 bytes, no common suffix longer than the root: 432 bytes.
        Assert.Equal(432 + 4, b.Length);
        Assert.Equal(119, b[0]);
        Assert.Equal(255, b[1]);
        Assert.Equal(119, b[257]);
        Assert.Equal(177, b[258]);
        var joined = b.AsSpan(2, 255).ToArray().Concat(b.AsSpan(259).ToArray()).ToArray();
        Assert.Equal(30, joined[0]);
        Assert.Equal(30, joined[36 * 11]);
    }
}
