using System.Text;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

public sealed class DhcpDnsTftpTests
{
    [Fact]
    public void Dhcp_construct_into_a5_and_read_back()
    {
        var b = Bytes.Filled(DhcpMessage.OptionsOffset + 16);
        var m = DhcpMessage.CreateUnchecked(b);
        m.Clear();
        m.Op = DhcpMessage.OpRequest;
        m.HardwareType = 1;
        m.HardwareLength = 6;
        m.TransactionId = 0xCAFEBABE;
        m.Flags = DhcpMessage.FlagBroadcast;
        m.ClientHardwareAddress = Golden.GuestMac;
        var w = new DhcpOptionWriter(b.AsSpan(DhcpMessage.OptionsOffset));
        Assert.True(w.WriteByte(DhcpOption.MessageType, (byte)DhcpMessageType.Discover));
        Assert.True(w.WriteAddress(DhcpOption.RequestedIpAddress, Golden.Guest));
        Assert.True(w.WriteEnd());
        Assert.Equal(10, w.Length);

        Assert.Equal("01010600cafebabe00008000", Bytes.ToHex(b.AsSpan(0, 12)));
        Assert.Equal("525400123456", Bytes.ToHex(b.AsSpan(28, 6)));
        Assert.Equal("63825363", Bytes.ToHex(b.AsSpan(236, 4)));
        Assert.Equal("350101 32040a00020f ff a5a5a5a5a5a5", Bytes.ToHex(b.AsSpan(240)).Insert(6, " ").Insert(19, " ").Insert(22, " "));

        Assert.True(DhcpMessage.TryCreate(b, out var r));
        Assert.True(r.HasMagicCookie);
        Assert.True(r.Broadcast);
        Assert.Equal((byte)DhcpMessageType.Discover, r.MessageType);
        Assert.True(r.TryGetOption(DhcpOption.RequestedIpAddress, out var req));
        Assert.Equal(Golden.Guest, Ipv4Address.Read(req));
        Assert.False(r.TryGetOption(DhcpOption.HostName, out _));
    }

    [Fact]
    public void Dhcp_bootp_without_cookie_has_no_options()
    {
        var b = new byte[300];
        Assert.True(DhcpMessage.TryCreate(b, out var m));
        Assert.False(m.HasMagicCookie);
        Assert.Equal(0, m.Options.Length);
        Assert.Equal(0, m.MessageType);
        Assert.False(DhcpMessage.TryCreate(new byte[235], out _));
    }

    [Fact]
    public void Dhcp_option_reader_pads_end_and_malformed()
    {
        var r = new DhcpOptionReader(Bytes.Hex("00 00 350105 0c03616263 ff 0c01"));
        Assert.True(r.MoveNext());
        Assert.Equal(53, r.Code);
        Assert.Equal("05", Bytes.ToHex(r.Data));
        Assert.True(r.MoveNext());
        Assert.Equal(12, r.Code);
        Assert.Equal("abc", Encoding.ASCII.GetString(r.Data));
        Assert.False(r.MoveNext());
        Assert.False(r.Malformed);

        r = new DhcpOptionReader(Bytes.Hex("350105 0c0561"));
        Assert.True(r.MoveNext());
        Assert.False(r.MoveNext());
        Assert.True(r.Malformed);

        r = new DhcpOptionReader(Bytes.Hex("0c"));
        Assert.False(r.MoveNext());
        Assert.True(r.Malformed);
    }

    [Fact]
    public void Dhcp_option_writer_refuses_what_does_not_fit()
    {
        var b = Bytes.Filled(8);
        var w = new DhcpOptionWriter(b);
        Assert.True(w.WriteUInt32(DhcpOption.LeaseTime, 86400));
        Assert.False(w.WriteByte(DhcpOption.MessageType, 1)); // 6 + 3 + End > 8
        Assert.True(w.WriteEnd());
        Assert.Equal("330400015180ffa5", Bytes.ToHex(b));
        Assert.False(new DhcpOptionWriter(new byte[300]).Write(1, new byte[256]));
        Assert.False(new DhcpOptionWriter(new byte[300]).WriteString(12, new string('x', 256)));
    }

    /// <summary>RFC 1035 §4.1.4 example: F.ISI.ARPA at 20, FOO.F.ISI.ARPA at 40 by pointer, ARPA at 64.</summary>
    [Fact]
    public void Dns_names_with_compression()
    {
        var msg = new byte[80];
        var isi = Bytes.Hex("01 46 03 49 53 49 04 41 52 50 41 00");
        isi.CopyTo(msg, 20);
        Bytes.Hex("03 46 4f 4f c0 14").CopyTo(msg, 40);
        Bytes.Hex("c0 1a").CopyTo(msg, 64);
        Span<byte> text = stackalloc byte[255];
        Assert.True(DnsName.TryRead(msg, 20, text, out var n, out var next));
        Assert.Equal("F.ISI.ARPA", Encoding.ASCII.GetString(text[..n]));
        Assert.Equal(32, next);
        Assert.True(DnsName.TryRead(msg, 40, text, out n, out next));
        Assert.Equal("FOO.F.ISI.ARPA", Encoding.ASCII.GetString(text[..n]));
        Assert.Equal(46, next);
        Assert.True(DnsName.TryRead(msg, 64, text, out n, out next));
        Assert.Equal("ARPA", Encoding.ASCII.GetString(text[..n]));
        Assert.Equal(66, next);
    }

    [Fact]
    public void Dns_names_reject_loops_forward_pointers_and_overlong()
    {
        Span<byte> text = stackalloc byte[255];
        Assert.False(DnsName.TryRead(Bytes.Hex("c000"), 0, text, out _, out _)); // self loop
        Assert.False(DnsName.TryRead(Bytes.Hex("c002 00"), 0, text, out _, out _)); // forward
        Assert.False(DnsName.TryRead(Bytes.Hex("0561"), 0, text, out _, out _)); // truncated label
        Assert.False(DnsName.TryRead(Bytes.Hex("4000"), 0, text, out _, out _)); // extended label type
        Assert.False(DnsName.TryRead(Bytes.Hex("c0"), 0, text, out _, out _)); // half pointer
        var longName = new List<byte>();
        for (var i = 0; i < 5; i++)
        {
            longName.Add(63);
            longName.AddRange(Enumerable.Repeat((byte)'a', 63));
        }

        longName.Add(0);
        Assert.False(DnsName.TryRead(longName.ToArray(), 0, text, out _, out _)); // 321 > 255
        Assert.True(DnsName.TryRead(Bytes.Hex("00"), 0, text, out var n, out var next));
        Assert.Equal(0, n);
        Assert.Equal(1, next);
    }

    [Theory]
    [InlineData("example.org", "076578616d706c65036f726700")]
    [InlineData("example.org.", "076578616d706c65036f726700")]
    [InlineData("", "00")]
    [InlineData(".", "00")]
    public void Dns_encode(string name, string hex)
    {
        var b = new byte[64];
        Assert.True(DnsName.TryEncode(name, b, out var n));
        Assert.Equal(hex, Bytes.ToHex(b.AsSpan(0, n)));
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData(".a")]
    [InlineData("é.org")]
    public void Dns_encode_rejects(string name) => Assert.False(DnsName.TryEncode(name, new byte[64], out _));

    [Fact]
    public void Dns_encode_rejects_long_label_and_name()
    {
        Assert.False(DnsName.TryEncode(new string('a', 64), new byte[300], out _));
        Assert.False(DnsName.TryEncode(string.Join('.', Enumerable.Repeat(new string('a', 63), 4)), new byte[300], out _));
    }

    [Fact]
    public void Dns_header_and_question()
    {
        // id 0xbeef, RD, 1 question: example.org A IN
        var b = Bytes.Hex("beef 0100 0001 0000 0000 0000 076578616d706c65036f726700 0001 0001");
        Assert.True(DnsMessage.TryCreate(b, out var m));
        Assert.Equal(0xBEEF, m.Id);
        Assert.False(m.IsResponse);
        Assert.True(m.RecursionDesired);
        Assert.Equal(0, m.Opcode);
        Assert.Equal(1, m.QuestionCount);
        Assert.True(m.TryReadQuestion(DnsMessage.HeaderLength, out var q, out var next));
        Assert.Equal(new DnsQuestion(12, 1, 1), q);
        Assert.Equal(b.Length, next);
        Assert.True(DnsMessage.TryCreate(b.AsSpan(0, b.Length - 1), out var cut));
        Assert.False(cut.TryReadQuestion(DnsMessage.HeaderLength, out _, out _));
        Assert.False(DnsMessage.TryCreate(new byte[11], out _));
    }

    [Fact]
    public void Tftp_request_strings()
    {
        var b = Encoding.ASCII.GetBytes("\0\u0001pxelinux.0\0octet\0blksize\01468\0tsize\00\0");
        Assert.True(TftpPacket.TryCreate(b, out var t));
        Assert.Equal(TftpOpcode.ReadRequest, t.Opcode);
        var r = t.RequestStrings;
        var got = new List<string>();
        while (r.TryRead(out var s))
        {
            got.Add(Encoding.ASCII.GetString(s));
        }

        Assert.Equal(["pxelinux.0", "octet", "blksize", "1468", "tsize", "0"], got);
        var cut = new TftpStringReader("abc"u8);
        Assert.False(cut.TryRead(out _));
    }

    [Fact]
    public void Tftp_emit_data_ack_error_oack()
    {
        var b = Bytes.Filled(16);
        Assert.Equal(7, TftpPacket.WriteData(b, 0x0102, "abc"u8));
        Assert.Equal("00030102616263a5", Bytes.ToHex(b.AsSpan(0, 8)));
        b = Bytes.Filled(6);
        Assert.Equal(4, TftpPacket.WriteAck(b, 9));
        Assert.Equal("00040009a5a5", Bytes.ToHex(b));
        b = Bytes.Filled(12);
        Assert.Equal(12, TftpPacket.WriteError(b, TftpErrorCode.FileNotFound, "File not found"));
        Assert.Equal("0005000146696c65206e6f00", Bytes.ToHex(b)); // cut to fit, NUL kept
        Assert.True(TftpPacket.TryCreate(b, out var t));
        Assert.Equal(TftpErrorCode.FileNotFound, t.ErrorCode);
        Assert.Equal("File no", Encoding.ASCII.GetString(t.ErrorMessage));
        b = Bytes.Filled(20);
        b[0] = 0;
        b[1] = 6;
        var n = TftpPacket.AppendString(b, 2, "tsize");
        n = TftpPacket.AppendString(b, n, "42");
        Assert.Equal("00067473697a65003432 00a5", Bytes.ToHex(b.AsSpan(0, 12)).Insert(20, " "));
    }
}
