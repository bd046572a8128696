using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;
using Netdevd.UserNet.Nat;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// On the system clock the user netdev's one timer is a timerfd in its host poller's epoll set:
/// its expiry is reported to the thread waiting on the poller, with no other thread between, and
/// a flow's deadline fires through it on real time.
/// </summary>
[Collection(nameof(UserNetHostIoTests))]
public sealed class SystemClockTimerTests
{
    [Fact]
    public void The_pollers_timer_wakes_the_thread_waiting_on_the_poller_at_its_deadline()
    {
        using var poller = new HostPoller();
        poller.StartTimer();
        Assert.Equal(0, poller.Wait(0));

        var clock = Stopwatch.StartNew();
        poller.ArmTimer(40);
        var n = poller.Wait(5000);
        Assert.Equal(1, n);
        Assert.True(clock.ElapsedMilliseconds >= 35, $"woke after {clock.ElapsedMilliseconds} ms of 40");

        // Not the wake eventfd: the timer's own event, taken once.
        Assert.False(poller.Dispatch(n));
        Assert.True(poller.TakeTimerExpiry());
        Assert.False(poller.TakeTimerExpiry());
        Assert.Equal(0, poller.Wait(100));
    }

    [Fact]
    public void A_poller_without_a_timer_ignores_arming()
    {
        using var poller = new HostPoller();
        poller.ArmTimer(0);
        Assert.Equal(0, poller.Wait(100));
        Assert.False(poller.TakeTimerExpiry());
    }

    [Fact]
    public async Task A_udp_flows_idle_timeout_expires_it_on_real_time()
    {
        const int IdleTimeoutMs = 300;
        var options = new NetdevUserOptions { Ipv6 = false, Hostfwd = [new() { Str = "udp:127.0.0.1:0-:5353" }] };
        var client = UserNetClient.Create("u-clock", UserNetConfigParser.Parse(options), TimeProvider.System, NullLogger.Instance,
            new NatLimits { UdpIdleTimeoutMs = IdleTimeoutMs });
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            var forward = new IPEndPoint(IPAddress.Loopback, (int)client.HostForwards[0].HostPort);
            await udp.SendAsync(new byte[] { 1 }, forward, TestContext.Current.CancellationToken);
            await Eventually.WaitUntilAsync(() => client.UdpForwardClients.StackFlows == 1, "the stack opened the client's flow");

            var clock = Stopwatch.StartNew();
            await Eventually.WaitUntilAsync(() => client.UdpForwardClients.StackFlows == 0, "the idle flow expired", timeoutMs: 10_000);
            Assert.True(clock.ElapsedMilliseconds >= IdleTimeoutMs / 2, $"the flow expired {clock.ElapsedMilliseconds} ms after it opened, its idle timeout is {IdleTimeoutMs}");
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
        }
    }
}
