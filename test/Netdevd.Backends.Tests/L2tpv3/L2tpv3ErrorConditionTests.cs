using System.Net.Sockets;
using Netdevd.Backends.L2tpv3;
using Netdevd.Core.Registry;
using Netdevd.Native;
using static Netdevd.Backends.Tests.Dgram.SocketConditions;
using static Netdevd.Backends.Tests.L2tpv3.L2tpv3TestKit;

namespace Netdevd.Backends.Tests.L2tpv3;

/// <summary>An l2tpv3 endpoint whose peer is away: ICMP errors are read and counted, and the tunnel works once the peer is back.</summary>
public sealed class L2tpv3ErrorConditionTests
{
    [Fact]
    public async Task Queued_icmp_errors_are_read_and_counted_and_frames_flow_when_the_peer_returns()
    {
        var (pa, pb) = (ClosedUdpPort(), ClosedUdpPort());
        var a = Udp("127.0.0.1", pa, "127.0.0.1", pb, 0x100);
        a.Rxsession = 0x200;
        var b = Udp("127.0.0.1", pb, "127.0.0.1", pa, 0x200);
        b.Rxsession = 0x100;
        await using var r = NewRegistry();
        var ca = (L2tpv3NetClient)await r.AddAsync(Netdev("a", a), NetdevOrigin.Monitor, null, Ct);

        // With IP_RECVERR (set by the test here, as on any socket whose owner wants ICMP
        // details) each port unreachable waits on the error queue and the socket reports
        // POLLERR until the queue is read.
        Assert.Equal(0, Libc.SetSockOptInt(ca.Fd, Libc.IPPROTO_IP, Libc.IP_RECVERR, 1));
        var na = new FrameSink("na");
        r.AttachNic("a", na.Client);
        for (var i = 0; i < 5; i++)
        {
            na.Client.Transmit(Frame(100, i));
            await Task.Delay(30, Ct);
        }

        Assert.True(await ErrorClears(ca.Fd), "the socket still reports POLLERR: its error queue was never read");
        Assert.True(ca.Counters.SocketErrors > 0, "the ICMP errors were not counted");

        // The far end comes up: the tunnel carries frames both ways.
        var cb = (L2tpv3NetClient)await r.AddAsync(Netdev("b", b), NetdevOrigin.Monitor, null, Ct);
        var nb = new FrameSink("nb");
        r.AttachNic("b", nb.Client);
        var ab = Frame(1514, 10);
        na.Client.Transmit(ab);
        Assert.Equal(ab, nb.Next());
        var ba = Frame(1514, 11);
        nb.Client.Transmit(ba);
        Assert.Equal(ba, na.Next());
        Assert.Equal(1, cb.Counters.Received);
    }

    [Fact]
    public async Task An_unreachable_peer_over_ipv6_is_read_off_the_error_queue_too()
    {
        var (pa, pb) = (ClosedUdpPort(AddressFamily.InterNetworkV6), ClosedUdpPort(AddressFamily.InterNetworkV6));
        var a = Udp("::1", pa, "::1", pb, 1);
        a.Ipv6 = true;
        await using var r = NewRegistry();
        var ca = (L2tpv3NetClient)await r.AddAsync(Netdev("a", a), NetdevOrigin.Monitor, null, Ct);
        Assert.Equal(0, Libc.SetSockOptInt(ca.Fd, Libc.IPPROTO_IPV6, Libc.IPV6_RECVERR, 1));
        var na = new FrameSink("na");
        r.AttachNic("a", na.Client);
        for (var i = 0; i < 3; i++)
        {
            na.Client.Transmit(Frame(100, i));
            await Task.Delay(30, Ct);
        }

        Assert.True(await ErrorClears(ca.Fd), "the socket still reports POLLERR: its error queue was never read");
        Assert.True(ca.Counters.SocketErrors > 0, "the ICMPv6 errors were not counted");
    }
}
