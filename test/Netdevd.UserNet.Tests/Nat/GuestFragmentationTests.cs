using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;
using PacketDotNet;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// Datagrams for the guest longer than its link's MTU leave as IPv4 fragments (slirp's ip_output
/// at IF_MTU 1500), checked with PacketDotNet as the independent decoder.
/// </summary>
public sealed class GuestFragmentationTests : NatStackHarness
{
    [Fact]
    public void A_udp_answer_longer_than_the_mtu_arrives_in_fragments_that_reassemble()
    {
        Stack.Input(GuestFrames.Udp(GuestFrames.Host, 5000, 7777, [1]));
        var payload = new byte[4000];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)((i * 7) + 3);
        }

        var flows = (FlowTable<(Ipv4Address, ushort), UdpFlow>)typeof(UserStack)
            .GetField("_udp", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(Stack)!;
        Stack.OnUdpReceived(flows.Flows.Single(), Ipv4Address.Loopback, 7777, payload);

        var frames = Sink.Take();
        var datagram = Reassemble(frames, expectedPieces: 3);
        var udp = Assert.IsType<PacketDotNet.UdpPacket>(datagram.PayloadPacket);
        Assert.True(udp.ValidUdpChecksum);
        Assert.Equal(5000, udp.DestinationPort);
        Assert.Equal(7777, udp.SourcePort);
        Assert.Equal(payload, udp.PayloadData);
        Assert.Equal(1, Stack.Counters.DatagramsFragmented);
    }

    [Fact]
    public void A_large_ping_of_the_virtual_host_is_answered_in_fragments()
    {
        // The guest's own 3000-byte echo request comes in pieces too; the stack reassembles it.
        foreach (var piece in GuestFrames.Fragment(GuestFrames.Ping(GuestFrames.Host, id: 9, seq: 1, dataLength: 3000), 1480))
        {
            Stack.Input(piece);
        }

        var datagram = Reassemble(Sink.Take(), expectedPieces: 3);
        var icmp = Assert.IsType<IcmpV4Packet>(datagram.PayloadPacket);
        Assert.Equal(IcmpV4TypeCode.EchoReply, icmp.TypeCode);
        Assert.Equal(9, icmp.Id);
        Assert.True(icmp.ValidIcmpChecksum);
        Assert.Equal(3000, icmp.PayloadData.Length);
    }

    [Fact]
    public void Answers_that_fit_the_mtu_are_not_fragmented()
    {
        foreach (var piece in GuestFrames.Fragment(GuestFrames.Ping(GuestFrames.Host, id: 4, seq: 1, dataLength: 1472), 1480))
        {
            Stack.Input(piece);
        }

        var frame = Assert.Single(Sink.Take());
        var ip = Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<IPv4Packet>();
        Assert.Equal(1500, ip.TotalLength);
        Assert.Equal(0, ip.FragmentFlags & 0x1);
        Assert.Equal(0, ip.FragmentOffset);
        Assert.Equal(0, Stack.Counters.DatagramsFragmented);
    }

    /// <summary>Checks every piece as a receiver would and joins them (RFC 791 reassembly, in order).</summary>
    private static IPv4Packet Reassemble(List<byte[]> frames, int expectedPieces)
    {
        Assert.Equal(expectedPieces, frames.Count);
        var data = new List<byte>();
        IPv4Packet? first = null;
        for (var i = 0; i < frames.Count; i++)
        {
            Assert.True(frames[i].Length <= 14 + UserStack.GuestLinkMtu, $"piece {i} is {frames[i].Length} bytes");
            var ip = Packet.ParsePacket(LinkLayers.Ethernet, frames[i]).Extract<IPv4Packet>();
            Assert.NotNull(ip);
            Assert.True(ip.ValidIPChecksum, $"piece {i} header checksum");
            Assert.Equal(data.Count, ip.FragmentOffset * 8);
            var more = (ip.FragmentFlags & 0x1) != 0;
            Assert.Equal(i < frames.Count - 1, more);
            Assert.Equal(0, ip.FragmentFlags & 0x2); // Don't Fragment is clear on pieces
            first ??= ip;
            Assert.Equal(first.Id, ip.Id);
            if (more)
            {
                Assert.Equal(0, ip.PayloadLength % 8);
            }

            data.AddRange(frames[i].AsSpan(14 + ip.HeaderLength * 4, ip.TotalLength - (ip.HeaderLength * 4)).ToArray());
        }

        // The whole datagram: the first header with the full length and no fragment fields.
        var header = Packet.ParsePacket(LinkLayers.Ethernet, frames[0]).Extract<IPv4Packet>().HeaderData.ToArray();
        var whole = new byte[header.Length + data.Count];
        header.CopyTo(whole, 0);
        data.CopyTo(whole, header.Length);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(whole.AsSpan(2), (ushort)whole.Length);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(whole.AsSpan(6), 0);
        return new IPv4Packet(new PacketDotNet.Utils.ByteArraySegment(whole));
    }
}
