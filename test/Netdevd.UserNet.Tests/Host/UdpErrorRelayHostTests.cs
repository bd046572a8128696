using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;
using Netdevd.UserNet.Tests.Ipv6;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// The host's own kernel saying a port is closed, through real loopback sockets: the guest's
/// datagram to a closed port of the host brings it a port unreachable from the address it used,
/// and the socket's pending error that the ICMP error leaves (IP_RECVERR) does not cost the
/// guest's next datagram.
/// </summary>
public sealed class UdpErrorRelayHostTests
{
    private const ushort GuestPort = 40100;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_closed_host_port_is_a_port_unreachable_and_the_next_datagram_still_goes(bool ipv6)
    {
        var loopback = ipv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        using var open = new UdpClient(new IPEndPoint(loopback, 0));
        var openPort = (ushort)((IPEndPoint)open.Client.LocalEndPoint!).Port;
        var closedPort = ClosedPort(loopback);
        var client = UserNetClient.Create($"u-closed-{ipv6}", UserNetConfigParser.Parse(new NetdevUserOptions()), TimeProvider.System, NullLogger.Instance);
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            // One batch: the kernel answers the first datagram's ICMP error within its sendto, so
            // the second sendto meets the socket's pending error.
            guest.InjectBatch(Datagram(ipv6, closedPort, "closed"u8.ToArray()), Datagram(ipv6, openPort, "open"u8.ToArray()));
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(10));
            var received = await open.ReceiveAsync(cts.Token);
            Assert.Equal("open"u8.ToArray(), received.Buffer);

            var (source, type, code, quotedPort, ttl) = await WaitForErrorAsync(guest, ipv6);
            Assert.Equal(ipv6 ? (Icmpv6Packet.TypeDestinationUnreachable, Icmpv6Packet.CodePortUnreachable) : (IcmpPacket.TypeDestinationUnreachable, (byte)3), (type, code));
            Assert.Equal(closedPort, quotedPort);
            Assert.Equal(ipv6 ? Guest6Frames.Gateway.ToString() : GuestFrames.Host.ToString(), source);

            // The kernel's error left with the default TTL (hop limit) 64 and arrived with it over
            // loopback; relayed as a router forwards it, one less (IP_RECVTTL, IPV6_RECVHOPLIMIT).
            Assert.Equal(63, ttl);
            for (var i = 0; i < 100 && client.Counters.IcmpErrorsRelayed == 0; i++)
            {
                await Task.Delay(10, TestContext.Current.CancellationToken); // counted once the frame is out
            }

            Assert.Equal(1, client.Counters.IcmpErrorsRelayed);
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
        }
    }

    private static byte[] Datagram(bool ipv6, ushort port, byte[] payload) =>
        ipv6 ? Guest6Frames.Udp(Guest6Frames.Guest, Guest6Frames.Gateway, GuestPort, port, payload) : GuestFrames.Udp(GuestFrames.Host, GuestPort, port, payload);

    /// <summary>A UDP port of the loopback address that nothing listens on (bound, then closed).</summary>
    private static ushort ClosedPort(IPAddress loopback)
    {
        using var probe = new UdpClient(new IPEndPoint(loopback, 0));
        return (ushort)((IPEndPoint)probe.Client.LocalEndPoint!).Port;
    }

    /// <summary>Waits (bounded) for the ICMP or ICMPv6 error to reach the guest: its sender, type, code, the destination port it quotes and its TTL (hop limit).</summary>
    private static async Task<(string Source, byte Type, byte Code, ushort QuotedPort, byte Ttl)> WaitForErrorAsync(GuestPeer guest, bool ipv6)
    {
        for (var i = 0; i < 1000; i++)
        {
            foreach (var (frame, _, _, _) in guest.Received)
            {
                if (!EthernetFrame.TryCreate(frame, out var eth))
                {
                    continue;
                }

                if (!ipv6 && Ipv4Packet.TryCreate(eth.Payload, out var ip) && ip.Protocol == IpProtocol.Icmp && IcmpPacket.TryCreate(ip.Payload, out var icmp))
                {
                    Assert.True(icmp.VerifyChecksum());
                    var quoted = ip.Payload[IcmpPacket.HeaderLength..];
                    return (ip.Source.ToString(), icmp.Header.Type, icmp.Header.Code, (ushort)((quoted[22] << 8) | quoted[23]), ip.TimeToLive);
                }

                if (ipv6 && eth.EtherType == EtherType.Ipv6 && Ipv6Packet.TryCreate(eth.Payload, out var ip6) && ip6.NextHeader == IpProtocol.Icmpv6 &&
                    Icmpv6Packet.TryCreate(ip6.Payload, out var icmp6) && icmp6.Header.Type < 128)
                {
                    Assert.True(icmp6.VerifyChecksum(ip6.Source, ip6.Destination));
                    var quoted = ip6.Payload[Icmpv6Packet.HeaderLength..];
                    return (ip6.Source.ToString(), icmp6.Header.Type, icmp6.Header.Code, (ushort)((quoted[42] << 8) | quoted[43]), ip6.HopLimit);
                }
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.Fail("no ICMP error reached the guest");
        return default;
    }
}
