using System.Net;
using System.Net.Sockets;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// A destination the host cannot route (the rig's host namespace has only loopback, so neither
/// 203.0.113.0/24 nor 2001:db8::/32 leads anywhere): the host's connect, sendto or echo fails at
/// once, and the guest is told at once, over either family, as libslirp tells it (tcp_input,
/// udp_input and icmp_input over IPv4, their IPv6 twins): an ICMP or ICMPv6 destination
/// unreachable that the guest's kernel reports as "network unreachable", not a reset that would
/// read as "connection refused", and not silence.
/// </summary>
[Collection("user-netdev")]
public sealed class UnroutableDestinationInteropTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static Task<UserNetRig> StartAsync(IPAddress destination) => UserNetRig.StartWithAddressAsync(destination.AddressFamily);

    [Theory]
    [InlineData("203.0.113.7")]
    [InlineData("2001:db8::7")]
    public async Task Udp_gets_a_network_unreachable(string address)
    {
        var destination = IPAddress.Parse(address);
        await using var rig = await StartAsync(destination);
        using var guest = NamespaceSocket.CreateUdpHearingErrors(rig.GuestNs, destination.AddressFamily);

        guest.Connect(new IPEndPoint(destination, 9));
        using var cts = new CancellationTokenSource(Patience);
        var error = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            while (true)
            {
                guest.Send([1, 2, 3]);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
                wait.CancelAfter(TimeSpan.FromSeconds(1));
                try
                {
                    await guest.ReceiveAsync(new byte[64], wait.Token);
                }
                catch (OperationCanceledException) when (!cts.IsCancellationRequested)
                {
                    // no answer yet (the first datagram may have gone before the guest's neighbour entry): again
                }
            }
        });
        Assert.Equal(SocketError.NetworkUnreachable, error.SocketErrorCode);
    }

    [Theory]
    [InlineData("203.0.113.7")]
    [InlineData("2001:db8::7")]
    public async Task Tcp_fails_as_unreachable_not_refused(string address)
    {
        var destination = IPAddress.Parse(address);
        await using var rig = await StartAsync(destination);
        using var guest = NamespaceSocket.Create(rig.GuestNs, destination.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(Patience);
        var error = await Assert.ThrowsAsync<SocketException>(async () =>
            await guest.ConnectAsync(new IPEndPoint(destination, 80), cts.Token));
        Assert.Equal(SocketError.NetworkUnreachable, error.SocketErrorCode);
    }

    [Theory]
    [InlineData("203.0.113.7", "Destination Net Unreachable")]
    [InlineData("2001:db8::7", "Destination unreachable: No route")]
    public async Task Ping_is_told_the_destination_is_unreachable(string address, string report)
    {
        await using var rig = await StartAsync(IPAddress.Parse(address));
        var (status, output) = await rig.GuestAsync($"ping -c 1 -W 3 {address}", TimeSpan.FromSeconds(20));
        Assert.NotEqual(0, status);
        Assert.Contains(report, output, StringComparison.Ordinal);
    }
}
