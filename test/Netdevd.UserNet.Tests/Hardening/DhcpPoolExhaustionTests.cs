using Microsoft.Extensions.Time.Testing;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Services;
using Netdevd.UserNet.Tests.Services;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Hardening;

/// <summary>
/// 16 DISCOVERs from random MACs must not hold the 16-address pool for the 24-hour lease time
/// (issue [05] item 9): an offer nobody confirmed expires after <see cref="DhcpServer.OfferTimeout"/>,
/// and a full pool reclaims such slots, never a confirmed lease.
/// </summary>
public sealed class DhcpPoolExhaustionTests
{
    private static readonly MacAddress Guest = MacAddress.Create(0x52, 0x54, 0, 0x12, 0x34, 0x56);
    private static readonly MacAddress Latecomer = MacAddress.Create(0x52, 0x54, 0, 0xAB, 0xCD, 0xEF);

    private readonly FakeTimeProvider _time = new();
    private readonly DhcpServer _server;

    public DhcpPoolExhaustionTests() => _server = new DhcpServer(new UserNetConfig(), _time);

    /// <summary>The reply's type and yiaddr; null when the server stays silent.</summary>
    private (DhcpMessageType Type, Ipv4Address YourAddress)? Send(byte[] request)
    {
        var frame = new byte[DhcpServer.ReplyFrameLength];
        var n = _server.Handle(request, frame);
        if (n == 0)
        {
            return null;
        }

        Assert.True(DhcpMessage.TryCreate(UdpFrame.Payload(frame)[..DhcpServer.ReplyLength], out var reply));
        return ((DhcpMessageType)reply.MessageType, reply.YourAddress);
    }

    private static MacAddress RandomMac(Random random)
    {
        var b = new byte[6];
        random.NextBytes(b);
        b[0] = (byte)((b[0] & 0xFE) | 0x02); // unicast, locally administered
        return MacAddress.Create(b[0], b[1], b[2], b[3], b[4], b[5]);
    }

    private void FloodDiscovers(int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            Send(DhcpTestClient.Request(DhcpMessageType.Discover, RandomMac(random), xid: (uint)i));
        }
    }

    [Fact]
    public void Unconfirmed_offers_from_a_flood_of_random_macs_expire_and_a_new_client_gets_an_address()
    {
        FloodDiscovers(16, seed: 1);
        Assert.Null(Send(DhcpTestClient.Request(DhcpMessageType.Discover, Latecomer))); // full, as libslirp

        _time.Advance(DhcpServer.OfferTimeout + TimeSpan.FromSeconds(1));
        var offer = Send(DhcpTestClient.Request(DhcpMessageType.Discover, Latecomer));
        Assert.NotNull(offer);
        Assert.Equal(DhcpMessageType.Offer, offer.Value.Type);
        var ack = Send(DhcpTestClient.Request(DhcpMessageType.Request, Latecomer, requested: offer.Value.YourAddress, serverId: Ipv4Address.Create(10, 0, 2, 2)));
        Assert.NotNull(ack);
        Assert.Equal(DhcpMessageType.Ack, ack.Value.Type);
        Assert.Equal(offer.Value.YourAddress, ack.Value.YourAddress);
    }

    [Fact]
    public void A_confirmed_lease_survives_the_flood_and_its_expiry_reclaim()
    {
        var offer = Send(DhcpTestClient.Request(DhcpMessageType.Discover, Guest));
        Assert.NotNull(offer);
        var address = offer.Value.YourAddress;
        Assert.NotNull(Send(DhcpTestClient.Request(DhcpMessageType.Request, Guest, requested: address, serverId: Ipv4Address.Create(10, 0, 2, 2))));

        FloodDiscovers(15, seed: 2);
        _time.Advance(DhcpServer.OfferTimeout + TimeSpan.FromSeconds(1));
        FloodDiscovers(40, seed: 3); // takes every reclaimable slot, more than once

        Assert.True(_server.TryGetLease(Guest, out var lease));
        Assert.Equal(address, lease.Address);
        var renewed = Send(DhcpTestClient.Request(DhcpMessageType.Request, Guest, requested: address, serverId: Ipv4Address.Create(10, 0, 2, 2)));
        Assert.NotNull(renewed);
        Assert.Equal(DhcpMessageType.Ack, renewed.Value.Type);
        Assert.Equal(address, renewed.Value.YourAddress);
    }

    [Fact]
    public void An_offer_is_held_for_its_client_while_the_offer_is_fresh()
    {
        var offer = Send(DhcpTestClient.Request(DhcpMessageType.Discover, Guest));
        Assert.NotNull(offer);
        FloodDiscovers(15, seed: 4);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Null(Send(DhcpTestClient.Request(DhcpMessageType.Discover, Latecomer)));

        var ack = Send(DhcpTestClient.Request(DhcpMessageType.Request, Guest, requested: offer.Value.YourAddress, serverId: Ipv4Address.Create(10, 0, 2, 2)));
        Assert.NotNull(ack);
        Assert.Equal(DhcpMessageType.Ack, ack.Value.Type);
    }
}
