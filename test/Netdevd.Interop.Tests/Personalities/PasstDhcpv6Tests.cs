using System.Net;
using System.Net.Sockets;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.User;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// netdevd as passt with an IPv6 -a, as libvirt passes an interface's &lt;ip family='ipv6'
/// address=.../&gt;: a namespace guest behind its socket (netdevd's stream netdev and a tap in
/// QEMU's place) gets that address from ISC dhclient -6, as passt's own DHCPv6 assigns it, and
/// an IPv6 port forward (-t) reaches the guest at it.
/// </summary>
[Collection("user-netdev")]
public sealed class PasstDhcpv6Tests
{
    [Fact]
    public async Task Dhclient_gets_passts_ipv6_address_and_an_ipv6_forward_reaches_it()
    {
        UserNetRig.RequireTools();
        HostTools.Require("dhclient", "isc-dhcp-client");
        HostTools.Require("ss", "iproute2");
        await using var rig = await UserNetRig.StartBehindPasstAsync("-a fd00::50 -t 18080:80");

        // dhclient -6 needs a link-local address past duplicate address detection.
        await WaitUsableAsync(rig, "inet6 fe80::");
        await using var dhclient = await Dhclient6.BindAsync(rig);
        Assert.Contains("reason=BOUND6 address=fd00::50/128", dhclient.Report, StringComparison.Ordinal);
        await WaitUsableAsync(rig, "inet6 fd00::50/128 ");

        // The guest's server binds that address alone: the forward must reach exactly it.
        using var server = NamespaceListener.Listen(rig.GuestNs, new IPEndPoint(IPAddress.Parse("fd00::50"), 80));
        using var client = NamespaceSocket.Create(rig.HostNs, AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        var (peer, _) = await ForwardedClientAddressTests.AcceptFromAsync(server, client, new IPEndPoint(IPAddress.IPv6Loopback, 18080));
        Assert.Equal(AddressFamily.InterNetworkV6, peer.AddressFamily);
    }

    [Fact]
    public async Task A_guest_with_slaac_alone_gets_ipv6_forwards_at_its_slaac_address()
    {
        UserNetRig.RequireTools();
        HostTools.Require("ss", "iproute2");
        await using var rig = await UserNetRig.StartBehindPasstAsync("-a fd00::50 -t 18082:80");

        // No DHCPv6 client: the kernel takes its SLAAC address from the advertisement's prefix and
        // never has fd00::50. As passt, the forward follows the address the guest uses.
        var slaac = await SlaacAddressAsync(rig);
        using var server = NamespaceListener.Listen(rig.GuestNs, new IPEndPoint(slaac, 80));
        using var client = NamespaceSocket.Create(rig.HostNs, AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        var (peer, _) = await ForwardedClientAddressTests.AcceptFromAsync(server, client, new IPEndPoint(IPAddress.IPv6Loopback, 18082));
        Assert.Equal(AddressFamily.InterNetworkV6, peer.AddressFamily);
    }

    /// <summary>The guest's global fd00::/64 address once it is past duplicate address detection.</summary>
    private static async Task<IPAddress> SlaacAddressAsync(UserNetRig rig)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var output = (await rig.GuestAsync($"ip -6 -o addr show dev {rig.Tap} scope global -tentative")).Output;
            foreach (var word in output.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (word.StartsWith("fd00::", StringComparison.Ordinal) && word.EndsWith("/64", StringComparison.Ordinal))
                {
                    return IPAddress.Parse(word[..^3]);
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"no SLAAC address:\n{output}");
            await Task.Delay(250);
        }
    }

    private static async Task WaitUsableAsync(UserNetRig rig, string address)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var addresses = (await rig.GuestAsync($"ip -6 addr show dev {rig.Tap} -tentative")).Output;
            if (addresses.Contains(address, StringComparison.Ordinal))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no usable {address}:\n{addresses}");
            await Task.Delay(250);
        }
    }
}
