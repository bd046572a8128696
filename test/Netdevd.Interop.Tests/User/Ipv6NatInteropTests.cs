using System.Net;
using System.Net.Sockets;
using System.Text;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// TCP, UDP and DNS over IPv6 through the user netdev with a real Linux guest (static address,
/// so these do not depend on the router advertisements): the virtual host fec0::2 is the host's
/// ::1, fec0::3 the DNS forwarder; hostfwd to the guest's IPv6 address keeps the client's address.
/// </summary>
[Collection("user-netdev")]
public sealed class Ipv6NatInteropTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Curl_over_ipv6_reaches_a_server_on_the_hosts_ipv6_loopback_through_the_virtual_host()
    {
        HostTools.Require("curl", "curl");
        var port = HostTools.FreePort();
        await using var rig = await UserNetRig.StartAsync("");
        await rig.ConfigureStaticIpv6Async();
        using var server = NamespaceListener.Listen(rig.HostNs, new IPEndPoint(IPAddress.IPv6Loopback, port));
        var served = ServeOnceAsync(server, "hello-over-ipv6");

        var (status, output) = await rig.GuestAsync($"curl -6 -sS --max-time 20 http://[fec0::2]:{port}/", TimeSpan.FromSeconds(40));
        Assert.True(status == 0 && output.Contains("hello-over-ipv6", StringComparison.Ordinal), output);
        Assert.Equal(IPAddress.IPv6Loopback, await served);
    }

    [Fact]
    public async Task Curl_over_ipv6_fetches_megabytes_into_a_guest_with_mtu_65520()
    {
        // podman and rootlesskit give the guest MTU 65520: its MSS is 65460, and every segment
        // longer than 1500 bytes used to be dropped on the way to it, so the download stalled.
        HostTools.Require("curl", "curl");
        var port = HostTools.FreePort();
        await using var rig = await UserNetRig.StartAsync("", mtu: 65520);
        await rig.GuestAsync($"sysctl -qw net.ipv6.conf.{rig.Tap}.accept_ra=0"); // the static address below, no SLAAC one beside it
        await rig.ConfigureStaticIpv6Async();
        using var server = NamespaceListener.Listen(rig.HostNs, new IPEndPoint(IPAddress.IPv6Loopback, port));
        const int size = 4 << 20;
        var served = ServeOnceAsync(server, new byte[size]);

        var (status, output) = await rig.GuestAsync($"curl -6 -sS --max-time 30 -o /dev/null -w '%{{size_download}}' http://[fec0::2]:{port}/", TimeSpan.FromSeconds(50));
        Assert.True(status == 0, output);
        Assert.Equal(size.ToString(System.Globalization.CultureInfo.InvariantCulture), output.Trim());
        await served;
    }

    [Fact]
    public async Task Udp_over_ipv6_reaches_the_hosts_loopback_and_the_answer_comes_back_from_the_virtual_host()
    {
        var port = HostTools.FreePort(SocketType.Dgram);
        await using var rig = await UserNetRig.StartAsync("");
        await rig.ConfigureStaticIpv6Async();
        using var server = NamespaceSocket.Create(rig.HostNs, AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.IPv6Loopback, port));
        using var guest = NamespaceSocket.Create(rig.GuestNs, AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);

        var (peer, _) = await ForwardedClientAddressTests.ExchangeAsync(server, guest, new IPEndPoint(IPAddress.Parse("fec0::2"), port));
        Assert.Equal(IPAddress.IPv6Loopback, peer.Address); // the NAT's own socket on the host
    }

    [Fact]
    public async Task Dig_aaaa_through_the_ipv6_dns_address()
    {
        HostTools.Require("dnsmasq", "dnsmasq-base");
        HostTools.Require("dig", "dnsutils");
        var dir = HostTools.TempDir();
        try
        {
            var dnsPort = HostTools.FreePort(SocketType.Dgram);
            var resolv = Path.Combine(dir, "resolv.conf");
            await File.WriteAllTextAsync(resolv, $"nameserver 127.0.0.1#{dnsPort}\n");
            await using var rig = await UserNetRig.StartAsync("", resolv);
            await rig.ConfigureStaticIpv6Async();
            rig.HostServer($"dnsmasq --no-daemon --keep-in-foreground --no-resolv --no-hosts --listen-address=127.0.0.1 --bind-interfaces --port={dnsPort} --address=/files.netdevd.test/2001:db8::77 --pid-file={dir}/dnsmasq.pid");

            string answer = "";
            for (var i = 0; i < 20 && answer.Length == 0; i++)
            {
                answer = (await rig.GuestAsync("dig +short +time=1 +tries=1 AAAA @fec0::3 files.netdevd.test")).Output.Trim();
                if (!answer.StartsWith("2001", StringComparison.Ordinal))
                {
                    answer = "";
                    await Task.Delay(200); // dnsmasq still starting
                }
            }

            Assert.Equal("2001:db8::77", answer);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_hostfwd_to_the_guests_ipv6_address_keeps_the_clients_address()
    {
        var port = HostTools.FreePort();
        await using var rig = await UserNetRig.StartAsync($"hostfwd=tcp:[::]:{port}-[{UserNetRig.Guest6}]:22");
        await rig.AddClientNamespaceAsync();
        await rig.ConfigureStaticIpv6Async();
        using var server = NamespaceListener.Listen(rig.GuestNs, new IPEndPoint(IPAddress.IPv6Any, 22));

        using (var client = NamespaceSocket.Create(rig.HostNs, AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp))
        {
            var (peer, local) = await ForwardedClientAddressTests.AcceptFromAsync(server, client, new IPEndPoint(IPAddress.IPv6Loopback, port));
            Assert.Equal(new IPEndPoint(IPAddress.Parse("fec0::2"), local.Port), peer);
        }

        using (var client = NamespaceSocket.Create(rig.ClientNs, AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp))
        {
            var (peer, local) = await ForwardedClientAddressTests.AcceptFromAsync(server, client, new IPEndPoint(IPAddress.Parse(UserNetRig.ClientLinkHost6), port));
            Assert.Equal(new IPEndPoint(IPAddress.Parse(UserNetRig.ClientLinkClient6), local.Port), peer);
        }
    }

    [Fact]
    public async Task A_udp_hostfwd_to_the_guests_ipv6_address_keeps_the_clients_address_and_answers()
    {
        // Refused with "Could not set up host forwarding rule" before.
        var port = HostTools.FreePort(SocketType.Dgram);
        await using var rig = await UserNetRig.StartAsync($"hostfwd=udp:[::]:{port}-[{UserNetRig.Guest6}]:5353");
        await rig.AddClientNamespaceAsync();
        await rig.ConfigureStaticIpv6Async();
        using var server = NamespaceSocket.Create(rig.GuestNs, AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.IPv6Any, 5353));

        using (var client = NamespaceSocket.Create(rig.ClientNs, AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp))
        {
            var (peer, local) = await ForwardedClientAddressTests.ExchangeAsync(server, client, new IPEndPoint(IPAddress.Parse(UserNetRig.ClientLinkHost6), port));
            Assert.Equal(new IPEndPoint(IPAddress.Parse(UserNetRig.ClientLinkClient6), local.Port), peer);
        }

        using (var client = NamespaceSocket.Create(rig.HostNs, AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp))
        {
            var (peer, local) = await ForwardedClientAddressTests.ExchangeAsync(server, client, new IPEndPoint(IPAddress.IPv6Loopback, port));
            Assert.Equal(new IPEndPoint(IPAddress.Parse("fec0::2"), local.Port), peer);
        }
    }

    /// <summary>Answers one HTTP request with <paramref name="body"/>; returns the address the request came from.</summary>
    private static Task<IPAddress> ServeOnceAsync(Socket listener, string body) => ServeOnceAsync(listener, Encoding.ASCII.GetBytes(body));

    /// <summary>Answers one HTTP request with <paramref name="body"/>; returns the address the request came from.</summary>
    internal static async Task<IPAddress> ServeOnceAsync(Socket listener, byte[] body)
    {
        using var cts = new CancellationTokenSource(Patience);
        using var connection = await listener.AcceptAsync(cts.Token);
        var buffer = new byte[4096];
        var request = "";
        while (!request.Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await connection.ReceiveAsync(buffer, cts.Token);
            if (n == 0)
            {
                break;
            }

            request += Encoding.ASCII.GetString(buffer, 0, n);
        }

        await connection.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"), cts.Token);
        await connection.SendAsync(body, cts.Token);
        connection.Shutdown(SocketShutdown.Both);
        return ((IPEndPoint)connection.RemoteEndPoint!).Address;
    }
}
