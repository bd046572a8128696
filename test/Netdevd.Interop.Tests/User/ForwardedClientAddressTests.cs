using System.Net;
using System.Net.Sockets;
using System.Text;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// hostfwd keeps the client's own address, as libslirp: a client in a namespace of its own is seen
/// by the guest's server with its address and port; a loopback client as the virtual host.
/// </summary>
[Collection("user-netdev")]
public sealed class ForwardedClientAddressTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_tcp_client_reaches_the_guest_with_its_own_address_and_a_loopback_client_as_the_virtual_host()
    {
        var port = HostTools.FreePort();
        await using var rig = await UserNetRig.StartAsync($"hostfwd=tcp::{port}-:22");
        await rig.AddClientNamespaceAsync();
        await rig.DhcpAsync();
        using var server = NamespaceListener.Listen(rig.GuestNs, new IPEndPoint(IPAddress.Any, 22));

        using (var client = NamespaceSocket.Create(rig.ClientNs, AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            var (peer, local) = await AcceptFromAsync(server, client, new IPEndPoint(IPAddress.Parse(UserNetRig.ClientLinkHost), port));
            Assert.Equal(new IPEndPoint(IPAddress.Parse(UserNetRig.ClientLinkClient), local.Port), peer);
        }

        using (var client = NamespaceSocket.Create(rig.HostNs, AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            var (peer, local) = await AcceptFromAsync(server, client, new IPEndPoint(IPAddress.Loopback, port));
            Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.2.2"), local.Port), peer);
        }
    }

    [Fact]
    public async Task A_udp_client_reaches_the_guest_with_its_own_address_and_gets_the_answer()
    {
        var port = HostTools.FreePort(SocketType.Dgram);
        await using var rig = await UserNetRig.StartAsync($"hostfwd=udp::{port}-:5353");
        await rig.AddClientNamespaceAsync();
        await rig.DhcpAsync();
        using var server = NamespaceSocket.Create(rig.GuestNs, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Any, 5353));

        using (var client = NamespaceSocket.Create(rig.ClientNs, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            var (peer, local) = await ExchangeAsync(server, client, new IPEndPoint(IPAddress.Parse(UserNetRig.ClientLinkHost), port));
            Assert.Equal(new IPEndPoint(IPAddress.Parse(UserNetRig.ClientLinkClient), local.Port), peer);
        }

        using (var client = NamespaceSocket.Create(rig.HostNs, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            var (peer, local) = await ExchangeAsync(server, client, new IPEndPoint(IPAddress.Loopback, port));
            Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.2.2"), local.Port), peer);
        }
    }

    [Fact]
    public async Task Ipv6_host_addresses_forward_to_the_guests_ipv4_address_and_are_removed_by_their_bracketed_key()
    {
        var port = HostTools.FreePort();
        var udpPort = HostTools.FreePort(SocketType.Dgram);
        await using var rig = await UserNetRig.StartAsync($"hostfwd=tcp:[::1]:{port}-:22,hostfwd=udp:[::]:{udpPort}-:5353");
        await rig.AddClientNamespaceAsync();
        await rig.DhcpAsync();
        using var server = NamespaceListener.Listen(rig.GuestNs, new IPEndPoint(IPAddress.Any, 22));
        using var udpServer = NamespaceSocket.Create(rig.GuestNs, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udpServer.Bind(new IPEndPoint(IPAddress.Any, 5353));

        // An IPv4 guest cannot address an IPv6 client: loopback and outside clients alike come from the virtual host.
        using (var client = NamespaceSocket.Create(rig.HostNs, AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp))
        {
            var (peer, local) = await AcceptFromAsync(server, client, new IPEndPoint(IPAddress.IPv6Loopback, port));
            Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.2.2"), local.Port), peer);
        }

        using (var client = NamespaceSocket.Create(rig.ClientNs, AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp))
        {
            var (peer, local) = await ExchangeAsync(udpServer, client, new IPEndPoint(IPAddress.Parse(UserNetRig.ClientLinkHost6), udpPort));
            Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.2.2"), local.Port), peer);
        }

        await using var qmp = await QmpTestClient.ConnectAsync(rig.QmpPath, TimeSpan.FromSeconds(20));
        var list = (await qmp.ExecuteAsync("query-hostfwd", new { netdev = "u0" })).ToJsonString();
        Assert.Contains("\"host-addr\":\"::1\"", list, StringComparison.Ordinal);
        Assert.NotNull((await qmp.ExecuteAsync("hostfwd-remove", new { netdev = "u0", rule = $"tcp:[::1]:{port}" }))["return"]);
        using var late = NamespaceSocket.Create(rig.HostNs, AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAsync<SocketException>(async () => await late.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, port)));
    }

    /// <summary>Connects the client through the forward; returns the peer the guest's server accepted and the client's own end.</summary>
    internal static async Task<(IPEndPoint Peer, IPEndPoint Local)> AcceptFromAsync(Socket server, Socket client, IPEndPoint forward)
    {
        using var cts = new CancellationTokenSource(Patience);
        var accept = server.AcceptAsync(cts.Token).AsTask();
        await client.ConnectAsync(forward, cts.Token);
        using var accepted = await accept;
        return ((IPEndPoint)accepted.RemoteEndPoint!, (IPEndPoint)client.LocalEndPoint!);
    }

    /// <summary>
    /// Sends through the forward until the guest's server hears it (the guest may still be
    /// learning the gateway), answers, and checks the client hears the answer. Returns the
    /// sender the guest saw and the client's own end.
    /// </summary>
    internal static async Task<(IPEndPoint Peer, IPEndPoint Local)> ExchangeAsync(Socket server, Socket client, EndPoint forward)
    {
        using var cts = new CancellationTokenSource(Patience);
        var buffer = new byte[64];
        var any = server.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        var receive = server.ReceiveFromAsync(buffer, any, cts.Token).AsTask();
        while (true)
        {
            await client.SendToAsync(Encoding.ASCII.GetBytes("hello-guest"), forward, cts.Token);
            if (await Task.WhenAny(receive, Task.Delay(500, cts.Token)) == receive)
            {
                break;
            }
        }

        var heard = await receive;
        Assert.Equal("hello-guest", Encoding.ASCII.GetString(buffer, 0, heard.ReceivedBytes));
        var peer = (IPEndPoint)heard.RemoteEndPoint;
        await server.SendToAsync(Encoding.ASCII.GetBytes("hello-client"), peer, cts.Token);
        var clientAny = client.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        var answer = await client.ReceiveFromAsync(buffer, clientAny, cts.Token);
        Assert.Equal("hello-client", Encoding.ASCII.GetString(buffer, 0, answer.ReceivedBytes));
        return (peer, (IPEndPoint)client.LocalEndPoint!);
    }
}
