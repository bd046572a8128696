using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

public sealed class EthernetArpTests
{
    [Fact]
    public void Ethernet_deconstruct()
    {
        var b = Bytes.Hex(Golden.Udp);
        Assert.True(EthernetFrame.TryCreate(b, out var f));
        Assert.Equal(Golden.HostMac, f.Destination);
        Assert.Equal(Golden.GuestMac, f.Source);
        Assert.Equal(EtherType.Ipv4, f.EtherType);
        Assert.Equal(b.Length - 14, f.Payload.Length);
    }

    [Fact]
    public void Ethernet_construct_into_a5()
    {
        var b = Bytes.Filled(16);
        Assert.Equal(14, EthernetFrame.WriteHeader(b, Golden.HostMac, Golden.GuestMac, EtherType.Arp));
        Assert.Equal("5255000002025254001234560806a5a5", Bytes.ToHex(b));
    }

    [Fact]
    public void Ethernet_too_short() => Assert.False(EthernetFrame.TryCreate(new byte[13], out _));

    [Fact]
    public void Arp_deconstruct_and_cross_check()
    {
        var b = Bytes.Hex(Golden.ArpRequest);
        Assert.True(EthernetFrame.TryCreate(b, out var f));
        Assert.True(ArpPacket.TryCreate(f.Payload, out var a));
        Assert.True(a.IsEthernetIpv4);
        Assert.Equal(ArpPacket.OperationRequest, a.Operation);
        Assert.Equal(Golden.GuestMac, a.SenderHardwareAddress);
        Assert.Equal(Golden.Guest, a.SenderProtocolAddress);
        Assert.Equal(MacAddress.Zero, a.TargetHardwareAddress);
        Assert.Equal(Golden.Host, a.TargetProtocolAddress);

        var p = PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, b).Extract<PacketDotNet.ArpPacket>();
        Assert.Equal("10.0.2.2", p.TargetProtocolAddress.ToString());
        Assert.Equal(PacketDotNet.ArpOperation.Request, p.Operation);
    }

    [Fact]
    public void Arp_construct_into_a5()
    {
        var b = Bytes.Filled(14 + 28);
        EthernetFrame.WriteHeader(b, MacAddress.Broadcast, Golden.GuestMac, EtherType.Arp);
        Assert.Equal(28, ArpPacket.Write(b.AsSpan(14), ArpPacket.OperationRequest, Golden.GuestMac, Golden.Guest, MacAddress.Zero, Golden.Host));
        Assert.Equal(Bytes.ToHex(Bytes.Hex(Golden.ArpRequest)), Bytes.ToHex(b));
    }

    [Fact]
    public void Arp_truncated_and_non_ethernet()
    {
        Assert.False(ArpPacket.TryCreate(new byte[27], out _));
        var b = Bytes.Hex(Golden.ArpRequest).AsSpan(14).ToArray();
        b[4] = 8;
        Assert.True(ArpPacket.TryCreate(b, out var a));
        Assert.False(a.IsEthernetIpv4);
    }
}
