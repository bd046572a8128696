using System.Buffers;
using System.Text;
using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Tests.Json;

public sealed class QmpJsonFormatterTests
{
    [Fact]
    public void Compact_uses_qemus_separators()
    {
        var d = new QDict().Put("a", 1).Put("b", new QList([new QNum(1), new QNum(2)])).Put("c", new QDict()).Put("d", new QList());
        Assert.Equal("{\"a\": 1, \"b\": [1, 2], \"c\": {}, \"d\": []}", QmpJsonFormatter.Format(d));
        Assert.Equal("{\"return\": {}}", new QDict().Put("return", new QDict()).ToString());
    }

    [Fact]
    public void Pretty_indents_by_four_and_closes_empty_containers_on_a_new_line()
    {
        var d = new QDict().Put("a", 1).Put("b", new QList([new QNum(1), new QNum(2)])).Put("c", new QDict());
        const string expected = "{\n    \"a\": 1,\n    \"b\": [\n        1,\n        2\n    ],\n    \"c\": {\n    }\n}";
        Assert.Equal(expected, QmpJsonFormatter.Format(d, pretty: true));
        Assert.Equal("{\n}", QmpJsonFormatter.Format(new QDict(), pretty: true));
        Assert.Equal("[\n]", QmpJsonFormatter.Format(new QList(), pretty: true));
        Assert.Equal("1", QmpJsonFormatter.Format(new QNum(1), pretty: true));
    }

    [Theory]
    [InlineData("plain / text", "\"plain / text\"")]
    [InlineData("a\"b\\c\b\f\n\r\t", "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\"")]
    [InlineData("\u0001\u001f\u007f\u0080", "\"\\u0001\\u001F\\u007F\\u0080\"")]
    [InlineData("\0", "\"\\u0000\"")]
    [InlineData("é€", "\"\\u00E9\\u20AC\"")]
    [InlineData("😀", "\"\\uD83D\\uDE00\"")]
    [InlineData("\uffff\ufffe\ufdd0", "\"\\uFFFD\\uFFFD\\uFFFD\"")]
    public void Strings_are_pure_ascii(string value, string expected)
    {
        Assert.Equal(expected, QmpJsonFormatter.Format(new QString(value)));
    }

    [Theory]
    [InlineData(0.1, "0.10000000000000001")]
    [InlineData(1.5, "1.5")]
    [InlineData(1.0, "1")]
    [InlineData(-0.0, "-0")]
    [InlineData(0.0, "0")]
    [InlineData(1e300, "1.0000000000000001e+300")]
    [InlineData(1e-5, "1.0000000000000001e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e16, "10000000000000000")]
    [InlineData(1e17, "1e+17")]
    [InlineData(123456789012345678.0, "1.2345678901234568e+17")]
    [InlineData(-2.5e-10, "-2.5000000000000002e-10")]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    public void Doubles_print_as_percent_17g(double value, string expected)
    {
        Assert.Equal(expected, QmpJsonFormatter.Format(new QNum(value)));
    }

    [Fact]
    public void Broken_surrogates_become_the_replacement_character()
    {
        // Built at run time: attribute arguments cannot carry lone surrogates.
        var value = new string(['\ud800', 'x', '\udc00', '\ud83d']);
        Assert.Equal("\"\\uFFFDx\\uFFFD\\uFFFD\"", QmpJsonFormatter.Format(new QString(value)));
    }

    [Fact]
    public void Nan_prints_with_its_sign_as_glibc_does()
    {
        Assert.Equal("nan", QmpJsonFormatter.Format(new QNum(BitConverter.Int64BitsToDouble(0x7FF8000000000000))));
        Assert.Equal("-nan", QmpJsonFormatter.Format(new QNum(BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8000000000000)))));
    }

    [Fact]
    public void Integers_print_exactly()
    {
        Assert.Equal("[-9223372036854775808, 18446744073709551615, 0]", new QList([new QNum(long.MinValue), new QNum(ulong.MaxValue), new QNum(0L)]).ToString());
    }

    [Fact]
    public void Utf8_output_matches_string_output()
    {
        var d = new QDict().Put("k\u00e9y", "v\n😀").Put("n", new QList([new QNum(1.5), QNull.Instance, QBool.True]));
        foreach (var pretty in new[] { false, true })
        {
            var buffer = new ArrayBufferWriter<byte>();
            QmpJsonFormatter.FormatUtf8(d, buffer, pretty);
            Assert.Equal(QmpJsonFormatter.Format(d, pretty), Encoding.ASCII.GetString(buffer.WrittenSpan));
        }
    }

    [Fact]
    public void Round_trips_through_the_parser()
    {
        const string text = "{\"a\": [1, 2.5, \"x\\u00E9\\uD83D\\uDE00\", null, true, false, {}], \"b\": {\"c\": -7}}";
        Assert.Equal(text, QmpJson.Parse(text).ToString());
    }
}
