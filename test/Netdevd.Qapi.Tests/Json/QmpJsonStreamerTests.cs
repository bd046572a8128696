using System.Text;
using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Tests.Json;

public sealed class QmpJsonStreamerTests
{
    [Theory]
    [InlineData("{\"execute\": \"qmp_capabilities\"}", "{\"execute\": \"qmp_capabilities\"}")]
    [InlineData("[]", "[]")]
    [InlineData("{}", "{}")]
    [InlineData("{\"execute\": 1}", "{\"execute\": 1}")]
    [InlineData("  {\"a\":[1,2,{\"b\":null}],\"c\":-1.5e3, \"d\": true, \"e\": false}\r\n", "{\"a\": [1, 2, {\"b\": null}], \"c\": -1500, \"d\": true, \"e\": false}")]
    [InlineData("'single'", "\"single\"")]
    [InlineData("{'a': 'b\"c', \"d\": \"e'f\"}", "{\"a\": \"b\\\"c\", \"d\": \"e'f\"}")]
    [InlineData("'it\\'s'", "\"it's\"")]
    [InlineData("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\\"\\\\/\\b\\f\\n\\r\\t\"")]
    [InlineData("\"\\u00e9\\u00E9\"", "\"\\u00E9\\u00E9\"")]
    [InlineData("\"\\ud83d\\ude00\"", "\"\\uD83D\\uDE00\"")]
    [InlineData("\"\\u0000\"", "\"\\u0000\"")]
    [InlineData("\"é\"", "\"\\u00E9\"")]
    [InlineData("1 ", "1")]
    [InlineData("-0 ", "0")]
    [InlineData("1.0 ", "1")]
    [InlineData("0.5e-1 ", "0.050000000000000003")]
    [InlineData("true ", "true")]
    [InlineData("null ", "null")]
    public void Parses_one_value(string input, string expected)
    {
        Assert.Equal([expected], StreamerHarness.Run(input));
    }

    [Theory]
    [InlineData("}", "JSON parse error, expecting value")]
    [InlineData("]", "JSON parse error, expecting value")]
    [InlineData(":", "JSON parse error, expecting value")]
    [InlineData(",", "JSON parse error, expecting value")]
    [InlineData("[1 2]", "JSON parse error, expected separator in list")]
    [InlineData("[1,]", "JSON parse error, expecting value")]
    [InlineData("{\"a\" 1}", "JSON parse error, missing : in object pair")]
    [InlineData("{\"a\": 1 \"b\": 2}", "JSON parse error, expected separator in dict")]
    [InlineData("{\"a\":1,}", "JSON parse error, expecting value")]
    [InlineData("{\"a\":}", "JSON parse error, expecting value")]
    [InlineData("{1: 2}", "JSON parse error, key is not a string in object")]
    [InlineData("{[1]: 2}", "JSON parse error, key is not a string in object")]
    [InlineData("{\"a\": 1, \"a\": 2}", "JSON parse error, duplicate key")]
    [InlineData("{\"a\": 1, 'a': x}", "JSON parse error, invalid keyword 'x'")]
    [InlineData("tru ", "JSON parse error, invalid keyword 'tru'")]
    [InlineData("{\"a\": nul}", "JSON parse error, invalid keyword 'nul'")]
    [InlineData("\"\\x\"", "JSON parse error, invalid escape sequence in string")]
    [InlineData("\"\\ud800\"", "JSON parse error, \\ud800 is not a valid Unicode character")]
    [InlineData("\"\\ud800\\u0041\"", "JSON parse error, \\ud800 is not a valid Unicode character")]
    [InlineData("\"\\uDC00\"", "JSON parse error, \\uDC00 is not a valid Unicode character")]
    [InlineData("\"\\uFFFF\"", "JSON parse error, \\uFFFF is not a valid Unicode character")]
    [InlineData("\"\\uFDD0\"", "JSON parse error, \\uFDD0 is not a valid Unicode character")]
    [InlineData("\"\\ud83f\\udfff\"", "JSON parse error, \\ud83f\\udfff is not a valid Unicode character")]
    [InlineData("\"\\u12\"", "JSON parse error, \\u12\" is not a valid Unicode character")]
    [InlineData("\"\\u12x4\"", "JSON parse error, \\u12x4 is not a valid Unicode character")]
    [InlineData("@", "JSON parse error, stray '@'")]
    [InlineData("01\n", "JSON parse error, stray '01'")]
    [InlineData("-x\n", "JSON parse error, stray '-x'")]
    [InlineData("1.}", "JSON parse error, stray '1.}'")]
    [InlineData("1e+}", "JSON parse error, stray '1e+}'")]
    [InlineData("{\"a\": 1", "JSON parse error, premature EOI")]
    [InlineData("[", "JSON parse error, premature EOI")]
    [InlineData("{\"a\":", "JSON parse error, premature EOI")]
    [InlineData("\"abc", "JSON parse error, stray '\"abc'")]
    public void Reports_one_error(string input, string expected)
    {
        Assert.Equal(["error: " + expected], StreamerHarness.Run(input));
    }

    [Fact]
    public void Lexical_error_discards_the_message_then_recovers_at_a_structural_character()
    {
        Assert.Equal(
            ["error: JSON parse error, stray '@'", "error: JSON parse error, expecting value", "{\"ok\": 1}"],
            StreamerHarness.Run("{\"a\": @}{\"ok\": 1}"));
    }

    [Fact]
    public void Uppercase_keyword_is_a_stray_and_the_rest_of_the_message_is_read_afresh()
    {
        Assert.Equal(
            ["error: JSON parse error, stray 'T'", "error: JSON parse error, expecting value"],
            StreamerHarness.Run("{\"a\": True}"));
    }

    [Fact]
    public void Recovery_skips_printable_input_and_spaces_until_a_newline()
    {
        Assert.Equal(
            ["error: JSON parse error, stray '@'", "{\"ok\": 1}"],
            StreamerHarness.Run("@ garbage \"quoted\" more\n{\"ok\": 1}"));
    }

    [Fact]
    public void Byte_0xFF_forces_resynchronisation()
    {
        var input = Encoding.UTF8.GetBytes("{\"a\": 1").Concat(new byte[] { 0xFF }).Concat(Encoding.UTF8.GetBytes("{\"b\": 2}")).ToArray();
        Assert.Equal(["error: JSON parse error, stray '\uFFFD'", "{\"b\": 2}"], StreamerHarness.Run(input));
    }

    [Fact]
    public void Control_character_in_string_is_a_stray()
    {
        Assert.Equal(["error: JSON parse error, stray '\"ab\n'", "{}"], StreamerHarness.Run("\"ab\n{}"));
    }

    [Fact]
    public void Invalid_utf8_in_string()
    {
        byte[] input = [(byte)'"', 0xC3, (byte)'"', (byte)'\n'];
        Assert.Equal(["error: JSON parse error, invalid UTF-8 sequence in string"], StreamerHarness.Run(input));
        byte[] overlong = [(byte)'"', 0xC1, 0x81, (byte)'"'];
        Assert.Equal(["error: JSON parse error, invalid UTF-8 sequence in string"], StreamerHarness.Run(overlong));
        byte[] nonchar = [(byte)'"', 0xEF, 0xBF, 0xBF, (byte)'"'];
        Assert.Equal(["error: JSON parse error, invalid UTF-8 sequence in string"], StreamerHarness.Run(nonchar));
    }

    [Fact]
    public void Modified_utf8_nul_is_accepted()
    {
        byte[] input = [(byte)'"', 0xC0, 0x80, (byte)'"'];
        Assert.Equal(["\"\\u0000\""], StreamerHarness.Run(input));
    }

    [Fact]
    public void Byte_0xFE_in_string_is_a_lexical_error()
    {
        byte[] input = [(byte)'"', (byte)'a', 0xFE, (byte)'"', (byte)'\n'];
        Assert.Equal(["error: JSON parse error, stray '\"a\uFFFD'"], StreamerHarness.Run(input));
    }

    [Fact]
    public void Several_values_in_one_feed_come_out_in_order()
    {
        Assert.Equal(["{\"a\": 1}", "[2]", "\"s\"", "3"], StreamerHarness.Run("{\"a\":1}[2]\"s\"3\n"));
    }

    [Fact]
    public void Top_level_number_needs_a_following_byte()
    {
        Assert.Empty(StreamerHarness.Run("42", flush: false));
        Assert.Equal(["42"], StreamerHarness.Run("42", flush: true));
    }

    [Fact]
    public void Values_split_across_feeds_complete_on_the_last_piece()
    {
        var output = new List<string>();
        var streamer = new QmpJsonStreamer(r => output.Add(StreamerHarness.Render(r)));
        var bytes = Encoding.UTF8.GetBytes("{\"execute\": \"query-version\", \"id\": \"\\u00e9\"}");
        foreach (var b in bytes)
        {
            streamer.Feed([b]);
        }

        Assert.Equal(["{\"execute\": \"query-version\", \"id\": \"\\u00E9\"}"], output);
    }

    [Fact]
    public void Flush_without_pending_input_emits_nothing()
    {
        Assert.Empty(StreamerHarness.Run("   \n"));
    }

    [Theory]
    [InlineData("9223372036854775807", QNumKind.Int64)]
    [InlineData("-9223372036854775808", QNumKind.Int64)]
    [InlineData("9223372036854775808", QNumKind.UInt64)]
    [InlineData("18446744073709551615", QNumKind.UInt64)]
    [InlineData("18446744073709551616", QNumKind.Double)]
    [InlineData("-9223372036854775809", QNumKind.Double)]
    [InlineData("1.5", QNumKind.Double)]
    [InlineData("1e2", QNumKind.Double)]
    public void Integer_tokens_are_int64_then_uint64_then_double(string token, QNumKind kind)
    {
        var value = Assert.IsType<QNum>(QmpJson.Parse(token));
        Assert.Equal(kind, value.Kind);
    }

    [Fact]
    public void Nesting_up_to_the_limit_is_fine()
    {
        var ok = new string('[', 1024) + new string(']', 1024);
        Assert.Equal([ok.Replace("][", "], [", StringComparison.Ordinal)], StreamerHarness.Run(ok));
    }

    [Fact]
    public void Nesting_past_the_limit_fails()
    {
        var output = StreamerHarness.Run(new string('[', 1025), flush: false);
        Assert.Equal(["error: JSON nesting depth limit exceeded"], output);
    }

    [Fact]
    public void Token_count_limit_discards_the_message_and_reads_on()
    {
        var output = new List<string>();
        var streamer = new QmpJsonStreamer(r => output.Add(StreamerHarness.Render(r)), QmpJsonStreamer.DefaultMaxTokenSize, 4, 1024);
        streamer.Feed("[1,2,3]"u8);
        Assert.Equal(["error: JSON token count limit exceeded", "3", "error: JSON parse error, expecting value"], output);
    }

    [Fact]
    public void Token_size_limit_applies_to_one_token_and_to_a_message()
    {
        var output = new List<string>();
        var streamer = new QmpJsonStreamer(r => output.Add(StreamerHarness.Render(r)), 10, 1000, 1024);
        streamer.Feed("\"0123456789abc\""u8);
        streamer.Flush();
        Assert.Equal(
            ["error: JSON token size limit exceeded", "error: JSON parse error, invalid keyword 'abc'", "error: JSON parse error, stray '\"'"],
            output);

        output.Clear();
        streamer.Feed("[1,2,3,4,5]"u8);
        Assert.Equal("error: JSON token size limit exceeded", output[0]);
    }

    [Fact]
    public void An_oversized_token_leaves_no_big_buffer_behind()
    {
        var output = new List<string>();
        var streamer = new QmpJsonStreamer(r => output.Add(StreamerHarness.Render(r)));
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'a');
        streamer.Feed("\""u8);
        long peak = 0;
        for (long fed = 0; fed <= QmpJsonStreamer.DefaultMaxTokenSize; fed += chunk.Length)
        {
            streamer.Feed(chunk);
            peak = Math.Max(peak, streamer.RetainedBytes);
        }

        Assert.Equal("error: JSON token size limit exceeded", output[0]);

        // The token buffer stops at the limit instead of doubling past it, and is let go after.
        Assert.True(peak <= QmpJsonStreamer.DefaultMaxTokenSize + (1 << 20), $"peak {peak >> 20} MiB");
        Assert.True(streamer.RetainedBytes < 1 << 20, $"retained {streamer.RetainedBytes} bytes");

        output.Clear();
        streamer.Feed("\n{\"execute\": \"query-version\"}"u8);
        Assert.Equal("{\"execute\": \"query-version\"}", output[^1]);
    }

    [Fact]
    public void A_message_of_many_tokens_leaves_no_big_buffer_behind()
    {
        var output = new List<string>();
        var streamer = new QmpJsonStreamer(r => output.Add(StreamerHarness.Render(r)));
        var message = "[" + string.Concat(Enumerable.Repeat("\"abcdefgh\",", 1 << 19)) + "1]";
        streamer.Feed(System.Text.Encoding.ASCII.GetBytes(message));
        Assert.Single(output);
        Assert.True(streamer.RetainedBytes < 1 << 20, $"retained {streamer.RetainedBytes} bytes");
    }

    [Fact]
    public void Default_limits_are_qemus()
    {
        Assert.Equal(64L << 20, QmpJsonStreamer.DefaultMaxTokenSize);
        Assert.Equal(2 << 20, QmpJsonStreamer.DefaultMaxTokenCount);
        Assert.Equal(1024, QmpJsonStreamer.DefaultMaxNesting);
    }
}
