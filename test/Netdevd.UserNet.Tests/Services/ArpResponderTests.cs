using Netdevd.UserNet.Services;
using Netdevd.UserNet.Tests.Wire;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Services;

public sealed class ArpResponderTests
{
    private static readonly Ipv4Address Net = Ipv4Address.Create(10, 0, 2, 0);
    private static readonly Ipv4Address Mask = Ipv4Address.MaskFromPrefix(24);

    private static ArpResponder Make() => new(Net, Mask, new ArpTable(Net, Mask), Golden.Host, Golden.Dns);

    [Fact]
    public void Answers_for_host_with_libslirp_mac_and_learns_guest()
    {
        var r = Make();
        var reply = Bytes.Filled(80);
        var n = r.Handle(Bytes.Hex(Golden.ArpRequest), reply);
        Assert.Equal(64, n);
        Assert.Equal(
            "525400123456 52550a000202 0806 0001 0800 06 04 0002 52550a000202 0a000202 525400123456 0a00020f".Replace(" ", string.Empty, StringComparison.Ordinal) +
            new string('0', 44) + "a5a5",
            Bytes.ToHex(reply.AsSpan(0, 66)));
        Assert.True(r.Table.TryLookup(Golden.Guest, out var mac));
        Assert.Equal(Golden.GuestMac, mac);
        var p = PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, reply.AsSpan(0, n).ToArray()).Extract<PacketDotNet.ArpPacket>();
        Assert.Equal(PacketDotNet.ArpOperation.Response, p.Operation);
        Assert.Equal("52550A000202", p.SenderHardwareAddress.ToString());
    }

    [Fact]
    public void Dns_address_gets_its_own_mac()
    {
        var req = Bytes.Hex(Golden.ArpRequest);
        req[41] = 3;
        var reply = new byte[64];
        Assert.Equal(64, Make().Handle(req, reply));
        Assert.Equal("52550a000203", Bytes.ToHex(reply.AsSpan(6, 6)));
        Assert.Equal(VirtualMac.For(Golden.Dns), MacAddress.Read(reply.AsSpan(22)));
    }

    [Fact]
    public void Ignores_other_targets_gratuitous_replies_and_garbage()
    {
        var r = Make();
        var req = Bytes.Hex(Golden.ArpRequest);
        req[41] = 99;
        Assert.Equal(0, r.Handle(req, new byte[64]));
        Assert.Equal(1, r.Ignored);

        var grat = Bytes.Hex(Golden.ArpRequest);
        grat[41] = 15;
        Assert.Equal(0, r.Handle(grat, new byte[64]));

        Assert.Equal(0, r.Handle(Bytes.Hex(Golden.ArpRequest).AsSpan(0, 30).ToArray(), new byte[64]));
        Assert.Equal(0, r.Handle(Bytes.Hex(Golden.Udp), new byte[64]));

        r.AddVirtualAddress(Ipv4Address.Create(10, 0, 2, 99));
        Assert.Equal(64, r.Handle(req, new byte[64]));
    }

    [Fact]
    public void Virtual_addresses_are_the_host_the_dns_and_those_added_and_no_other()
    {
        var r = Make();
        Assert.True(r.IsVirtualAddress(Golden.Host));
        Assert.True(r.IsVirtualAddress(Golden.Dns));
        Assert.False(r.IsVirtualAddress(Golden.Guest));
        Assert.False(r.IsVirtualAddress(Ipv4Address.Create(10, 0, 2, 99)));
        Assert.False(r.IsVirtualAddress(Ipv4Address.Create(192, 168, 1, 2)));

        var server = Ipv4Address.Create(10, 0, 2, 99);
        r.AddVirtualAddress(server);
        r.AddVirtualAddress(server);
        Assert.True(r.IsVirtualAddress(server));
        Assert.False(r.IsVirtualAddress(Ipv4Address.Create(10, 0, 2, 98)));
        Assert.False(r.IsVirtualAddress(default));
    }

    [Fact]
    public void Table_is_bounded_and_filters()
    {
        var t = new ArpTable(Net, Mask, 2);
        t.Add(Ipv4Address.Create(10, 0, 3, 1), Golden.GuestMac); // off network
        t.Add(Ipv4Address.Create(10, 0, 2, 255), Golden.GuestMac); // broadcast
        t.Add(Ipv4Address.Create(10, 0, 2, 10), MacAddress.Broadcast); // group MAC
        Assert.Equal(0, t.Count);
        t.Add(Ipv4Address.Create(10, 0, 2, 10), MacAddress.FromValue(0x10));
        t.Add(Ipv4Address.Create(10, 0, 2, 11), MacAddress.FromValue(0x11 << 8));
        t.Add(Ipv4Address.Create(10, 0, 2, 12), MacAddress.FromValue(0x12 << 8));
        Assert.Equal(2, t.Count);
        Assert.False(t.TryLookup(Ipv4Address.Create(10, 0, 2, 10), out _));
        Assert.True(t.TryLookup(Ipv4Address.Create(10, 0, 2, 12), out var m));
        Assert.Equal(0x1200UL, m.Value);
        Assert.True(t.TryLookup(Ipv4Address.Create(10, 0, 2, 255), out m));
        Assert.True(m.IsBroadcast);
    }
}
