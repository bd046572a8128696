using System.Net;
using System.Net.Sockets;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// A router beyond the host says a destination is unreachable: the test's client namespace is
/// that router (a veth from the host namespace, unreachable routes for 198.51.100.0/24 and
/// 2001:db8:99::/48, which its kernel answers with ICMP host unreachable and ICMPv6 no route).
/// netdevd's ping and UDP sockets hear the errors (IP_RECVERR) and the guest gets them from the
/// router's address, as on a real network: ping prints the router's report, a UDP socket fails at
/// once; slirp4netns's guests hear nothing and time out. A TCP connect the router refuses that
/// way fails in the guest as unreachable too, not as "connection refused" (libslirp resets it).
/// </summary>
[Collection("user-netdev")]
public sealed class RouterUnreachableInteropTests
{
    private const string Unreachable4 = "198.51.100.7";
    private const string Unreachable6 = "2001:db8:99::7";

    private static async Task<UserNetRig> StartAsync()
    {
        UserNetRig.RequireTools();
        var rig = await UserNetRig.StartAsync("");
        try
        {
            await rig.DhcpAsync();
            await rig.ConfigureStaticIpv6Async();
            await rig.AddClientNamespaceAsync();
            await Shell.CheckAsync($"ip netns exec {rig.ClientNs} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 && " +
                $"ip -n {rig.ClientNs} route add unreachable 198.51.100.0/24 && ip -n {rig.ClientNs} -6 route add unreachable 2001:db8:99::/48 && " +
                $"ip -n {rig.HostNs} route add 198.51.100.0/24 via {UserNetRig.ClientLinkClient} && " +
                $"ip -n {rig.HostNs} -6 route add 2001:db8:99::/48 via {UserNetRig.ClientLinkClient6}");
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    [Theory]
    [InlineData(Unreachable4, $"From {UserNetRig.ClientLinkClient} icmp_seq=1 Destination Host Unreachable")]
    [InlineData(Unreachable6, $"From {UserNetRig.ClientLinkClient6} icmp_seq=1 Destination unreachable: No route")]
    public async Task Ping_prints_the_routers_report(string destination, string report)
    {
        await using var rig = await StartAsync();
        var (status, output) = await rig.GuestAsync($"ping -c 1 -W 5 {destination}", TimeSpan.FromSeconds(20));
        Assert.NotEqual(0, status);
        Assert.Contains(report, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Unreachable4, SocketError.HostUnreachable)]
    [InlineData(Unreachable6, SocketError.NetworkUnreachable)]
    public async Task A_udp_socket_is_told_at_once(string destination, SocketError expected)
    {
        var address = IPAddress.Parse(destination);
        await using var rig = await StartAsync();
        using var guest = NamespaceSocket.CreateUdpHearingErrors(rig.GuestNs, address.AddressFamily);

        guest.Connect(new IPEndPoint(address, 9));
        guest.Send([1, 2, 3]);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(10));
        var error = await Assert.ThrowsAsync<SocketException>(async () => await guest.ReceiveAsync(new byte[64], cts.Token));
        Assert.Equal(expected, error.SocketErrorCode);
    }

    [Theory]
    [InlineData(Unreachable4, SocketError.HostUnreachable)]
    [InlineData(Unreachable6, SocketError.NetworkUnreachable)]
    public async Task A_tcp_connect_fails_as_unreachable_not_refused(string destination, SocketError expected)
    {
        var address = IPAddress.Parse(destination);
        await using var rig = await StartAsync();
        using var guest = NamespaceSocket.Create(rig.GuestNs, address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        var error = await Assert.ThrowsAsync<SocketException>(async () => await guest.ConnectAsync(new IPEndPoint(address, 80), cts.Token));
        Assert.Equal(expected, error.SocketErrorCode);
    }
}
