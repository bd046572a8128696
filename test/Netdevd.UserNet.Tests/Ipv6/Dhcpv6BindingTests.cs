using Netdevd.UserNet.Services;
using Netdevd.Wire;
using static Netdevd.UserNet.Tests.Ipv6.Dhcpv6StatefulStackTests;
using static Netdevd.UserNet.Tests.Ipv6.Guest6Frames;

namespace Netdevd.UserNet.Tests.Ipv6;

/// <summary>
/// What query-usernet lists of the stateful DHCPv6 server: the clients a Reply gave the address
/// to, until they release it; a bounded list whatever MACs a guest makes up.
/// </summary>
public sealed class Dhcpv6BindingTests : Ipv6StackHarness
{
    private static readonly Ipv6Address Address = Parse("fec0::15");

    public Dhcpv6BindingTests() => Recreate(Options() with { Ipv6DhcpAddress = Address });

    private void Send(string hex)
    {
        Stack.Input(Udp(GuestLinkLocal, Ipv6Address.AllDhcpServers, 546, 547, Bytes.Hex(hex)));
        Sink.Take();
    }

    private List<Dhcpv6Binding> Bindings()
    {
        var list = new List<Dhcpv6Binding>();
        Stack.CopyDhcpv6Bindings(list);
        return list;
    }

    [Fact]
    public void A_reply_with_the_address_binds_the_client_and_its_release_ends_the_binding()
    {
        Send("01000001" + ClientId + IaNa + OptionRequest); // Solicit: only an offer
        Assert.Empty(Bindings());

        Send("03000002" + ClientId + OurServerId + IaNaLeased + OptionRequest); // Request
        Assert.Equal([new Dhcpv6Binding(Address, GuestMac)], Bindings());
        Send("05000003" + ClientId + OurServerId + IaNaLeased); // Renew: still one
        Assert.Single(Bindings());

        Send("08000004" + ClientId + "0002000a 0003 0001 525600000003" + IaNaLeased); // Release to another server
        Assert.Single(Bindings());
        Send("08000005" + ClientId + OurServerId + IaNaLeased); // Release
        Assert.Empty(Bindings());
    }

    [Fact]
    public void Another_address_asked_for_binds_nothing()
    {
        Send("03000002" + ClientId + OurServerId + IaNaElsewhere);

        Assert.Empty(Bindings());
    }

    [Fact]
    public void A_guest_changing_its_mac_for_every_request_keeps_at_most_the_last_sixteen()
    {
        var server = new Dhcpv6Server(Parse("fec0::3"), [], MacAddress.Create(0x52, 0x56, 0, 0, 0, 2), Address);
        var reply = new byte[server.MaxReplyLength];
        var request = Bytes.Hex("03000002" + ClientId + OurServerId + IaNaLeased);
        for (byte i = 0; i < 40; i++)
        {
            Assert.NotEqual(0, server.Handle(request, reply, MacAddress.Create(0x52, 0x54, 0, 0, 1, i)));
        }

        var list = new List<Dhcpv6Binding>();
        server.CopyBindings(list);
        Assert.Equal(Dhcpv6Server.MaxBindings, list.Count);
        Assert.Equal(MacAddress.Create(0x52, 0x54, 0, 0, 1, 24), list[0].Mac);
        Assert.Equal(MacAddress.Create(0x52, 0x54, 0, 0, 1, 39), list[^1].Mac);
    }

    [Fact]
    public void Without_ipv6_dhcp_address_there_is_nothing_to_list()
    {
        Recreate(Options());
        Send("0b000001" + ClientId + OptionRequest); // Information-request

        Assert.Empty(Bindings());
    }
}
