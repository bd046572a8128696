using Microsoft.Extensions.Time.Testing;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Ipv6;

/// <summary>
/// With ipv6-dhcp-address (passt's -a), forwards to the assigned address follow the address the
/// guest's IPv6 traffic comes from, as passt's addr_seen: a guest that takes SLAAC only still gets
/// its forwarded connections.
/// </summary>
public sealed class ForwardToSeenAddressTests : IDisposable
{
    private static readonly Ipv6Address Assigned = Parse("fec0::15");
    private static readonly Ipv6Address Slaac = Parse("fec0::5054:ff:fe12:3456");
    private static readonly Ipv6Address Client = Parse("2001:db8::7");
    private readonly ListSink _sink = new();
    private readonly UserStack _stack;

    public ForwardToSeenAddressTests()
    {
        _stack = new UserStack(new UserStackOptions { Ipv6Enabled = true, Ipv6DhcpAddress = Assigned }, _sink, new FakeTimeProvider());
        _stack.AttachHost(new FakeNatHost());
    }

    public void Dispose() => _stack.Dispose();

    private static Ipv6Address Parse(string text)
    {
        Assert.True(Ipv6Address.TryParse(text, out var a));
        return a;
    }

    /// <summary>An echo request from <paramref name="source"/> to the gateway: any IPv6 traffic of the guest's.</summary>
    private void GuestSends(Ipv6Address source)
    {
        _stack.Input(Guest6Frames.Ping(Guest6Frames.Gateway, source: source));
        _ = _sink.Take(); // the echo reply
    }

    /// <summary>The destination of the one frame the stack sent the guest.</summary>
    private Ipv6Address SentTo()
    {
        Assert.True(EthernetFrame.TryCreate(Assert.Single(_sink.Take()), out var eth));
        Assert.True(Ipv6Packet.TryCreate(eth.Payload, out var ip));
        return ip.Destination;
    }

    [Fact]
    public void Before_the_guest_sends_anything_a_forward_goes_to_the_assigned_address()
    {
        Assert.NotNull(_stack.OpenForward6(Assigned, 22, Client, 40000, new NoSocket()));
        Assert.Equal(Assigned, SentTo());
    }

    [Fact]
    public void A_guest_on_its_slaac_address_gets_tcp_and_udp_forwards_there()
    {
        GuestSends(Slaac);

        Assert.NotNull(_stack.OpenForward6(Assigned, 22, Client, 40000, new NoSocket()));
        Assert.Equal(Slaac, SentTo());
        var flow = _stack.OpenUdpForward6(Assigned, 5353, Client, 40001, new object());
        Assert.NotNull(flow);
        _stack.OnUdpForwardDatagram(flow, [1, 2, 3]);
        Assert.Equal(Slaac, SentTo());
    }

    [Fact]
    public void The_latest_address_counts_and_link_local_and_outside_sources_do_not()
    {
        GuestSends(Slaac);
        GuestSends(Assigned);
        GuestSends(Parse("fe80::5054:ff:fe12:3456"));
        GuestSends(Parse("2001:db8:1::9"));

        Assert.NotNull(_stack.OpenForward6(Assigned, 22, Client, 40000, new NoSocket()));
        Assert.Equal(Assigned, SentTo());
    }

    [Fact]
    public void A_guest_that_only_checked_its_slaac_address_for_duplicates_gets_forwards_there()
    {
        // Duplicate address detection: from ::, no link-layer option, to the solicited-node group.
        _stack.Input(Guest6Frames.NeighborSolicitation(default, Slaac, withSourceLinkLayer: false));
        Assert.Empty(_sink.Take());

        Assert.NotNull(_stack.OpenForward6(Assigned, 22, Client, 40000, new NoSocket()));
        Assert.Equal(Slaac, SentTo());
    }

    [Fact]
    public void A_forward_to_another_address_goes_where_it_says()
    {
        GuestSends(Slaac);
        var other = Parse("fec0::99");

        Assert.NotNull(_stack.OpenForward6(other, 22, Client, 40000, new NoSocket()));
        Assert.Equal(other, SentTo());
    }

    private sealed class NoSocket : ITcpHostSocket
    {
        public void Sync()
        {
        }

        public void Close()
        {
        }

        public int SendNow(ReadOnlySpan<byte> data) => 0;
    }
}
