using Netdevd.Backends.L2tpv3;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using static Netdevd.Backends.Tests.L2tpv3.L2tpv3TestKit;

namespace Netdevd.Backends.Tests.L2tpv3;

/// <summary>Every error of net_init_l2tpv3, with QEMU's text, in QEMU's order; and its flag quirks.</summary>
public sealed class L2tpv3ValidationTests
{
    private static async Task<string> ErrorOf(NetdevL2TPv3Options options)
    {
        await using var r = NewRegistry();
        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Netdev("l0", options), NetdevOrigin.Monitor, null, Ct));
        Assert.Empty(r.Snapshot());
        return e.Message;
    }

    [Fact]
    public async Task Offset_over_256_is_refused_first()
    {
        var o = Ip("nosuch.invalid", "nosuch.invalid", 1);
        o.Offset = 257;
        o.Rxcookie = 1;
        Assert.Equal("offset must be less than 256 bytes", await ErrorOf(o));
    }

    [Fact]
    public void Offset_256_itself_is_accepted()
    {
        var o = Ip("127.0.0.1", "127.0.0.1", 1);
        o.Offset = 256;
        Assert.Equal(4 + 256, L2tpv3Config.From(o).Layout.HeaderLength);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task One_cookie_without_the_other_is_refused(bool rx)
    {
        var o = Udp("127.0.0.1", 1, "127.0.0.1", 2, 1);
        o.Udp = true;
        o.Srcport = null; // the cookie check comes before the port check
        if (rx)
        {
            o.Rxcookie = 5;
        }
        else
        {
            o.Txcookie = 5;
        }

        Assert.Equal("require both 'rxcookie' and 'txcookie' or neither", await ErrorOf(o));
    }

    [Theory]
    [InlineData(null, "1701")]
    [InlineData("1701", null)]
    [InlineData(null, null)]
    public async Task Udp_needs_both_ports(string? srcport, string? dstport)
    {
        var o = new NetdevL2TPv3Options { Src = "nosuch.invalid", Dst = "127.0.0.1", Udp = true, Srcport = srcport, Dstport = dstport, Txsession = 1 };
        Assert.Equal("need both src and dst port for udp", await ErrorOf(o));
    }

    [Fact]
    public async Task Unresolvable_src_gives_gai_strerror()
    {
        var o = Ip("::1", "127.0.0.1", 1);
        Assert.Equal("could not resolve src, errno = Address family for hostname not supported", await ErrorOf(o));

        var u = Udp("127.0.0.1", 0, "127.0.0.1", 1, 1);
        u.Srcport = "nosuchservice";
        Assert.Equal("could not resolve src, errno = Servname not supported for ai_socktype", await ErrorOf(u));
    }

    [Fact]
    public async Task Bind_failure_gives_the_raw_errno()
    {
        // 192.0.2.1 (TEST-NET-1) is not an address of this host: EADDRNOTAVAIL (99).
        var o = Udp("192.0.2.1", 0, "127.0.0.1", 1, 1);
        Assert.Equal("could not bind socket err=99", await ErrorOf(o));
    }

    [Fact]
    public async Task Unresolvable_dst_gives_gai_strerror()
    {
        var o = Udp("127.0.0.1", 0, "127.0.0.1", 1, 1);
        o.Dstport = "nosuchservice";
        Assert.Equal("could not resolve dst, error = Servname not supported for ai_socktype", await ErrorOf(o));

        var v6 = Udp("::1", 0, "127.0.0.1", 1, 1);
        v6.Ipv6 = true;
        Assert.Equal("could not resolve dst, error = Address family for hostname not supported", await ErrorOf(v6));
    }

    [Fact]
    public async Task Ip_mode_without_cap_net_raw_fails_at_socket_creation()
    {
        Assert.SkipWhen(Environment.IsPrivilegedProcess, "root may open raw sockets; this checks the unprivileged text");
        Assert.Equal("socket creation failed, errno = 1", await ErrorOf(Ip("127.0.0.1", "127.0.0.1", 1)));
    }

    [Fact]
    public void Cookie64_counts_when_present_even_if_off()
    {
        var o = Ip("127.0.0.1", "127.0.0.1", 1);
        o.Rxcookie = 1;
        o.Txcookie = 2;
        Assert.Equal(4, L2tpv3Config.From(o).Layout.CookieLength);
        o.Cookie64 = false;
        Assert.Equal(8, L2tpv3Config.From(o).Layout.CookieLength);
        o.Cookie64 = true;
        Assert.Equal(8, L2tpv3Config.From(o).Layout.CookieLength);

        // Without both cookies, cookie64 changes nothing.
        var none = Ip("127.0.0.1", "127.0.0.1", 1);
        none.Cookie64 = true;
        Assert.Equal(0, L2tpv3Config.From(none).Layout.CookieLength);
    }

    [Fact]
    public void Counter_only_with_counter_on_and_rxsession_defaults_to_txsession()
    {
        var o = Udp("127.0.0.1", 1, "127.0.0.1", 2, 42);
        var c = L2tpv3Config.From(o);
        Assert.False(c.Layout.SendsCounter);
        Assert.Equal(42u, c.RxSession);
        Assert.Null(L2tpv3Config.From(Ip("a", "b", 1)).Srcport);

        o.Counter = false;
        Assert.False(L2tpv3Config.From(o).Layout.SendsCounter);
        o.Counter = true;
        o.Rxsession = 7;
        c = L2tpv3Config.From(o);
        Assert.True(c.Layout.SendsCounter);
        Assert.Equal(7u, c.RxSession);
        Assert.Equal(12, c.Layout.HeaderLength);
    }

    [Fact]
    public void Ports_are_ignored_in_ip_mode()
    {
        var o = Ip("127.0.0.1", "127.0.0.1", 1);
        o.Srcport = "nosuchservice";
        o.Udp = false;
        var c = L2tpv3Config.From(o);
        Assert.Null(c.Srcport);
        Assert.Null(c.Dstport);
    }
}
