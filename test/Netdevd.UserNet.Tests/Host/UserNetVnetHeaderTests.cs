using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// The user netdev peered with a client that keeps virtio-net headers (a tap with vnet_hdr=on):
/// TCP to the guest leaves its checksum to the guest's device, and the guest's segments whose
/// checksum its device was to fill in (NEEDS_CSUM) are taken as they are.
/// </summary>
[Collection(nameof(UserNetHostIoTests))]
public sealed class UserNetVnetHeaderTests
{
    private const ushort GuestPort = 40200;
    private const int L4Start = EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength;

    private static readonly VirtioNetHeader NeedsCsum = new(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoNone, 0, 0, L4Start, 16);

    [Fact]
    public async Task Tcp_to_a_header_peer_carries_needs_csum_and_the_pseudo_header_sum_which_completes_to_a_valid_segment()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
        await using var peered = Connect(vnetHeader: true);
        var (client, guest) = peered;
        Assert.True(client.UsingVnetHeader);
        guest.Inject(GuestFrames.Tcp(GuestFrames.Host, GuestPort, port, 1000, 0, TcpFlags.Syn));
        using var accepted = await listener.AcceptSocketAsync(TestContext.Current.CancellationToken);
        var synAck = await guest.WaitForTcpAsync((flags, _) => (flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack));
        guest.Inject(GuestFrames.Tcp(GuestFrames.Host, GuestPort, port, 1001, synAck.Sequence + 1, TcpFlags.Ack));
        accepted.Send(Encoding.ASCII.GetBytes("hello, guest"));
        await guest.WaitForTcpAsync((_, length) => length > 0);

        var data = 0;
        foreach (var (header, frame) in guest.Headers)
        {
            Assert.True(EthernetFrame.TryCreate(frame, out var eth));
            Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip));
            Assert.True(ip.VerifyChecksum());
            if (ip.Protocol != IpProtocol.Tcp)
            {
                continue;
            }

            Assert.Equal(VirtioNetHeader.FlagNeedsCsum, header.Flags);
            Assert.False(header.IsGso);
            Assert.Equal(L4Start, header.CsumStart);
            Assert.Equal(16, header.CsumOffset);
            Assert.True(TcpPacket.TryCreate(ip.Payload, out var tcp));
            var pseudo = Checksum.Fold(Checksum.PseudoHeader(ip.Source, ip.Destination, IpProtocol.Tcp, ip.Payload.Length));
            Assert.Equal(pseudo, tcp.Checksum);

            // What the guest's device does: the sum from csum_start to the end, stored at csum_offset.
            var value = Checksum.Finish(Checksum.Add(0, frame.AsSpan(header.CsumStart)));
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(header.CsumStart + header.CsumOffset), value);
            Assert.True(tcp.VerifyChecksum(ip.Source, ip.Destination));
            var packet = PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, frame).Extract<PacketDotNet.TcpPacket>();
            Assert.True(packet.ValidChecksum);
            if (tcp.Payload.Length > 0)
            {
                Assert.Equal("hello, guest", Encoding.ASCII.GetString(tcp.Payload));
                data++;
            }
        }

        Assert.Equal(1, data);
    }

    [Fact]
    public async Task Tcp_to_a_plain_peer_keeps_its_full_checksum()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
        await using var peered = Connect(vnetHeader: false);
        var (client, guest) = peered;
        Assert.False(client.UsingVnetHeader);
        guest.Inject(GuestFrames.Tcp(GuestFrames.Host, GuestPort + 1, port, 1000, 0, TcpFlags.Syn));
        using var accepted = await listener.AcceptSocketAsync(TestContext.Current.CancellationToken);
        await guest.WaitForTcpAsync((flags, _) => (flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack));
        foreach (var (frame, _, _, _) in guest.Received)
        {
            Assert.True(EthernetFrame.TryCreate(frame, out var eth));
            Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip));
            Assert.True(ip.Protocol != IpProtocol.Tcp || TcpPacket.CreateUnchecked(ip.Payload).VerifyChecksum(ip.Source, ip.Destination));
        }
    }

    [Fact]
    public async Task A_guest_segment_with_needs_csum_and_an_unfilled_checksum_is_taken_without_the_flag_it_is_dropped_and_counted()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
        await using var peered = Connect(vnetHeader: true);
        var (client, guest) = peered;
        Assert.True(client.UsingVnetHeader);
        var garbage = GuestFrames.Tcp(GuestFrames.Host, GuestPort + 2, port, 1000, 0, TcpFlags.Syn);
        garbage[L4Start + 16] ^= 0x5A;
        garbage[L4Start + 17] ^= 0xA5;

        guest.Inject(garbage, default);
        Assert.Equal(1, client.Counters.Drops(FrameDropReason.BadChecksum));

        guest.Inject(garbage, NeedsCsum);
        await guest.WaitForTcpAsync((flags, _) => (flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack));
        using var accepted = await listener.AcceptSocketAsync(TestContext.Current.CancellationToken);
        Assert.Equal(1, client.Counters.Drops(FrameDropReason.BadChecksum));
    }

    [Fact]
    public async Task A_frame_shorter_than_its_header_and_udp_segmentation_are_dropped_and_counted()
    {
        await using var peered = Connect(vnetHeader: true);
        var (client, guest) = peered;
        Assert.True(client.UsingVnetHeader);
        guest.InjectRaw(new byte[5]);
        Assert.Equal(1, client.Counters.Drops(FrameDropReason.Malformed));

        var datagram = GuestFrames.Udp(GuestFrames.Host, 5000, 5001, new byte[3000]);
        guest.Inject(datagram, new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoUdpL4, 42, 1400, L4Start, 6));
        Assert.Equal(1, client.Counters.Drops(FrameDropReason.UnsupportedProtocol));
    }

    [Fact]
    public async Task A_guest_tso_super_frame_reaches_the_host_socket_whole()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
        await using var peered = Connect(vnetHeader: true);
        var (client, guest) = peered;
        Assert.True(client.UsingVnetHeader);
        guest.Inject(GuestFrames.Tcp(GuestFrames.Host, GuestPort + 3, port, 1000, 0, TcpFlags.Syn));
        using var accepted = await listener.AcceptSocketAsync(TestContext.Current.CancellationToken);
        var synAck = await guest.WaitForTcpAsync((flags, _) => (flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack));

        // Three MSS-sized segments in one frame, as a guest's kernel hands a TSO frame to its
        // device: IP length over the whole, the TCP checksum field holding the pseudo-header sum.
        var payload = new byte[3 * 1448];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)(i * 7);
        }

        var frame = GuestFrames.Tcp(GuestFrames.Host, GuestPort + 3, port, 1001, synAck.Sequence + 1, TcpFlags.Ack | TcpFlags.Psh, payload);
        var l4Length = frame.Length - L4Start;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(L4Start + 16),
            Checksum.Fold(Checksum.PseudoHeader(GuestFrames.Guest, GuestFrames.Host, IpProtocol.Tcp, l4Length)));
        guest.Inject(frame, new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoTcpV4, L4Start + 20, 1448, L4Start, 16));

        var received = new byte[payload.Length];
        var got = 0;
        while (got < received.Length)
        {
            var n = await accepted.ReceiveAsync(received.AsMemory(got), TestContext.Current.CancellationToken);
            Assert.True(n > 0);
            got += n;
        }

        Assert.Equal(payload, received);
        Assert.Equal(0, client.Counters.Drops(FrameDropReason.BadChecksum));
    }

    private static Peered Connect(bool vnetHeader)
    {
        var client = UserNetClient.Create("u-vnet", UserNetConfigParser.Parse(new NetdevUserOptions()), TimeProvider.System, NullLogger.Instance);
        var guest = new GuestPeer(vnetHeader);
        NetClient.Connect(client, guest);
        return new Peered(client, guest);
    }

    /// <summary>The user netdev and its guest-side peer, both closed with the test.</summary>
    private sealed class Peered(UserNetClient client, GuestPeer guest) : IAsyncDisposable
    {
        public void Deconstruct(out UserNetClient user, out GuestPeer peer)
        {
            user = client;
            peer = guest;
        }

        public async ValueTask DisposeAsync()
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
        }
    }
}
