using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>Core's virtio-net header negotiation: direct peers, and hubs that pass headers only when all ends agree.</summary>
public sealed class VnetNegotiationTests
{
    [Fact]
    public void Direct_peers_use_headers_only_when_both_can()
    {
        var a = new HeaderClient("a", true);
        var b = new HeaderClient("b", true);
        var c = new HeaderClient("c", false);
        NetClient.Connect(a, b);
        Assert.True(a.UsingVnetHeader);
        Assert.Equal(NetClient.VnetHeaderSize, b.VnetHeaderLength);
        a.Disconnect();
        Assert.False(a.UsingVnetHeader);
        Assert.False(b.UsingVnetHeader);
        NetClient.Connect(a, c);
        Assert.False(a.UsingVnetHeader);
        Assert.Equal(0, c.VnetHeaderLength);
    }

    [Fact]
    public void Hub_passes_headers_while_every_end_takes_them()
    {
        var hubs = new HubRegistry();
        var a = new HeaderClient("a", true);
        var b = new HeaderClient("b", true);
        NetClient.Connect(hubs.AddPort(0, "pa"), a);
        var pb = hubs.AddPort(0, "pb");
        NetClient.Connect(pb, b);
        Assert.True(a.UsingVnetHeader);
        Assert.True(b.UsingVnetHeader);

        // A port without a peer does not count; one whose peer lacks headers turns them off everywhere.
        var pc = hubs.AddPort(0, "pc");
        Assert.True(a.UsingVnetHeader);
        var c = new HeaderClient("c", false);
        NetClient.Connect(pc, c);
        Assert.False(a.UsingVnetHeader);
        Assert.False(b.UsingVnetHeader);
        Assert.True(a.Changes >= 2);

        c.Disconnect();
        Assert.True(a.UsingVnetHeader);
        Assert.True(b.UsingVnetHeader);
    }

    private sealed class HeaderClient(string name, bool headers) : NetClient(name, NetClientDriver.Tap)
    {
        public int Changes { get; private set; }

        public override bool HasVnetHeader => headers;

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) => ReceiveResult.Accepted;

        protected override void OnVnetHeaderChanged() => Changes++;
    }
}
