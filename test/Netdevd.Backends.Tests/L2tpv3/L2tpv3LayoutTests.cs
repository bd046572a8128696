using Netdevd.Backends.L2tpv3;

namespace Netdevd.Backends.Tests.L2tpv3;

/// <summary>Header build and parse, byte by byte, for every combination QEMU can produce.</summary>
public sealed class L2tpv3LayoutTests
{
    private static byte[] Header(L2tpv3Layout layout, uint session, ulong cookie, uint counter)
    {
        var h = new byte[layout.HeaderLength];
        layout.WriteTemplate(h, session, cookie);
        layout.WriteCounter(h, counter);
        return h;
    }

    [Fact]
    public void Udp_without_cookie_is_the_data_word_and_the_session()
    {
        var l = new L2tpv3Layout(udp: true, ipv6: false, cookieLength: 0, counter: false, pinCounter: false, padding: 0);
        Assert.Equal(8, l.HeaderLength);
        Assert.Equal(new byte[] { 0, 3, 0, 0, 0x12, 0x34, 0x56, 0x78 }, Header(l, 0x12345678, 0, 1));
    }

    [Fact]
    public void Ip_mode_has_no_data_word()
    {
        var l = new L2tpv3Layout(udp: false, ipv6: false, cookieLength: 0, counter: false, pinCounter: false, padding: 0);
        Assert.Equal(4, l.HeaderLength);
        Assert.True(l.HasIpHeader);
        Assert.Equal(new byte[] { 0, 0, 0, 9 }, Header(l, 9, 0, 1));
        Assert.False(new L2tpv3Layout(false, true, 0, false, false, 0).HasIpHeader);
    }

    [Fact]
    public void A_32_bit_cookie_is_the_low_half_of_txcookie()
    {
        var l = new L2tpv3Layout(udp: true, ipv6: false, cookieLength: 4, counter: false, pinCounter: false, padding: 0);
        Assert.Equal(new byte[] { 0, 3, 0, 0, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef }, Header(l, 1, 0x11223344deadbeef, 1));
    }

    [Fact]
    public void A_64_bit_cookie_and_a_counter_follow_the_session()
    {
        var l = new L2tpv3Layout(udp: false, ipv6: false, cookieLength: 8, counter: true, pinCounter: false, padding: 0);
        Assert.Equal(16, l.HeaderLength);
        Assert.Equal(
            new byte[] { 0, 0, 0, 7, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0, 1, 2 },
            Header(l, 7, 0x1122334455667788, 0x102));
    }

    [Fact]
    public void Pinned_counter_is_zero_and_pincounter_alone_sends_no_sublayer()
    {
        var pinned = new L2tpv3Layout(udp: true, ipv6: false, cookieLength: 0, counter: true, pinCounter: true, padding: 0);
        Assert.Equal(12, pinned.HeaderLength);
        Assert.Equal(new byte[] { 0, 3, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0 }, Header(pinned, 5, 0, 77));

        var alone = new L2tpv3Layout(udp: true, ipv6: false, cookieLength: 0, counter: false, pinCounter: true, padding: 0);
        Assert.Equal(8, alone.HeaderLength);
        Assert.Equal(new byte[] { 0, 3, 0, 0, 0, 0, 0, 5 }, Header(alone, 5, 0, 77));
    }

    [Fact]
    public void Offset_padding_is_zero_and_comes_last()
    {
        var l = new L2tpv3Layout(udp: true, ipv6: true, cookieLength: 4, counter: true, pinCounter: false, padding: 3);
        Assert.Equal(4 + 4 + 4 + 4 + 3, l.HeaderLength);
        Assert.Equal(
            new byte[] { 0, 3, 0, 0, 0, 0, 0, 2, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0 },
            Header(l, 2, 9, 1));
    }

    [Theory]
    [InlineData(true, 0, false, 0)]
    [InlineData(true, 4, true, 0)]
    [InlineData(false, 8, true, 16)]
    [InlineData(false, 4, false, 256)]
    public void Check_accepts_what_the_same_layout_writes(bool udp, int cookieLength, bool counter, int padding)
    {
        var l = new L2tpv3Layout(udp, false, cookieLength, counter, false, padding);
        var datagram = new byte[l.HeaderLength + 60];
        l.WriteTemplate(datagram, 0xabcdef01, 0x0102030405060708);
        l.WriteCounter(datagram, 3);
        Assert.Equal(L2tpv3Verdict.Accepted, l.Check(datagram, 0xabcdef01, 0x0102030405060708));
    }

    [Fact]
    public void Check_tests_the_cookie_before_the_session()
    {
        var l = new L2tpv3Layout(udp: true, ipv6: false, cookieLength: 4, counter: false, pinCounter: false, padding: 0);
        var datagram = new byte[l.HeaderLength + 1];
        l.WriteTemplate(datagram, 1, 0xaaaa);
        Assert.Equal(L2tpv3Verdict.CookieMismatch, l.Check(datagram, 2, 0xbbbb));
        Assert.Equal(L2tpv3Verdict.SessionMismatch, l.Check(datagram, 2, 0xaaaa));

        // Only the low 32 bits of rxcookie count with 32-bit cookies, as in QEMU.
        Assert.Equal(L2tpv3Verdict.Accepted, l.Check(datagram, 1, 0xffff00000000aaaa));
    }

    [Fact]
    public void Check_drops_datagrams_without_payload_and_ignores_word_counter_and_padding()
    {
        var l = new L2tpv3Layout(udp: true, ipv6: false, cookieLength: 0, counter: true, pinCounter: false, padding: 2);
        var datagram = new byte[l.HeaderLength];
        l.WriteTemplate(datagram, 1, 0);
        Assert.Equal(L2tpv3Verdict.Short, l.Check(datagram, 1, 0));

        var noisy = new byte[l.HeaderLength + 1];
        noisy.AsSpan().Fill(0x5a);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(noisy.AsSpan(4), 1);
        Assert.Equal(L2tpv3Verdict.Accepted, l.Check(noisy, 1, 0));
    }

    [Fact]
    public void Ipv4_header_length_comes_from_ihl()
    {
        var packet = new byte[40];
        packet[0] = 0x45;
        Assert.Equal(20, L2tpv3Layout.Ipv4HeaderLength(packet));
        packet[0] = 0x46;
        Assert.Equal(24, L2tpv3Layout.Ipv4HeaderLength(packet));
        packet[0] = 0x60;
        Assert.Equal(-1, L2tpv3Layout.Ipv4HeaderLength(packet));
        packet[0] = 0x4f;
        Assert.Equal(-1, L2tpv3Layout.Ipv4HeaderLength(packet));
    }
}
