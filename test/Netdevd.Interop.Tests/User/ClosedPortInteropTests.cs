using System.Net;
using System.Net.Sockets;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// A guest's datagram to a port nothing listens on (here the host's loopback, reached as the
/// virtual host): the host's kernel answers with a port unreachable, netdevd relays it, and the
/// guest's tools say "connection refused" at once, as on a real network, instead of waiting out
/// their timeouts (slirp4netns's guests wait: libslirp's unconnected sockets hear no ICMP error).
/// </summary>
[Collection("user-netdev")]
public sealed class ClosedPortInteropTests
{
    private static Task<UserNetRig> StartAsync(bool ipv6) =>
        UserNetRig.StartWithAddressAsync(ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);

    [Theory]
    [InlineData("10.0.2.2")]
    [InlineData("fec0::2")]
    public async Task Dig_to_a_closed_port_is_refused_at_once(string server)
    {
        HostTools.Require("dig", "dnsutils");
        await using var rig = await StartAsync(server.Contains(':', StringComparison.Ordinal));
        var port = HostTools.FreePort();

        // One try with a 5 s timeout: a refusal ends it at once, silence would take the 5 s.
        var (_, output) = await rig.GuestAsync($"dig +tries=1 +time=5 @{server} -p {port} example.org", TimeSpan.FromSeconds(30));
        Assert.Contains($"communications error to {server}#{port}: connection refused", output, StringComparison.Ordinal);
        Assert.DoesNotContain("timed out", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.2.2", "127.0.0.1")]
    [InlineData("fec0::2", "::1")]
    public async Task A_refused_socket_works_once_a_server_listens(string server, string hostLoopback)
    {
        HostTools.Require("dnsmasq", "dnsmasq-base");
        var address = IPAddress.Parse(server);
        await using var rig = await StartAsync(address.AddressFamily == AddressFamily.InterNetworkV6);
        var port = HostTools.FreePort();
        using var guest = NamespaceSocket.Create(rig.GuestNs, address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        guest.Connect(new IPEndPoint(address, port));
        byte[] query = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, (byte)'e', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e', 4, (byte)'t', (byte)'e', (byte)'s', (byte)'t', 0, 0, 1, 0, 1];

        var refused = await Assert.ThrowsAsync<SocketException>(async () => await ExchangeAsync(guest, query));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        // The same guest socket (the same flow on netdevd's side) once a resolver listens there.
        rig.HostServer($"dnsmasq --no-daemon --keep-in-foreground --no-resolv --no-hosts --listen-address={hostLoopback} --bind-interfaces --port={port} --address=/example.test/192.0.2.9 --pid-file={rig.Dir}/dnsmasq-closed.pid");
        byte[]? answer = null;
        for (var i = 0; i < 50 && answer is null; i++)
        {
            try
            {
                answer = await ExchangeAsync(guest, query);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                await Task.Delay(100); // dnsmasq still starting
            }
        }

        Assert.NotNull(answer);
        Assert.Equal([0x12, 0x34], answer[..2]);
        Assert.Equal([192, 0, 2, 9], answer[^4..]);
    }

    /// <summary>Sends the query and waits up to 5 s for the answer; a refusal throws.</summary>
    private static async Task<byte[]> ExchangeAsync(Socket guest, byte[] query)
    {
        guest.Send(query);
        var buffer = new byte[512];
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(5));
        var n = await guest.ReceiveAsync(buffer, cts.Token);
        return buffer[..n];
    }
}
