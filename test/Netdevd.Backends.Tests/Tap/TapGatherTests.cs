using Netdevd.Backends.Io;
using Netdevd.Backends.Tap;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>
/// A frame handed to a tap in pieces (the user netdev's headers and its send ring's payload) is
/// one write of exactly those bytes, behind a zeroed virtio-net header when the descriptor has
/// headers and the link does not. A datagram socket pair stands in for the tap: one read is one write.
/// </summary>
public sealed class TapGatherTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Pieces_go_out_as_one_frame(bool descriptorHeaders)
    {
        var pool = new IoThreadPool(1, $"tg{Random.Shared.Next(100000, 999999)}");
        Assert.True(Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK, 0, out var tapEnd, out var guestEnd));
        var tap = new TapNetClient("t0", [tapEnd], vnetHeader: descriptorHeaders, "tgt0", "ifname=tgt0", downscript: null, pool);
        var sender = new PieceSender("s");
        try
        {
            NetClient.Connect(tap, sender);
            Assert.False(tap.UsingVnetHeader);
            byte[] head = [.. Enumerable.Range(0, 54).Select(i => (byte)i)];
            byte[] body1 = [.. Enumerable.Range(0, 3000).Select(i => (byte)(i * 7))];
            byte[] body2 = [.. Enumerable.Range(0, 1001).Select(i => (byte)(i * 13))];
            Assert.Equal(DeliveryResult.Delivered, sender.Send(head, body1, body2));

            var read = new byte[8192];
            var n = Libc.Read(guestEnd, read);
            byte[] expected = descriptorHeaders ? [.. new byte[NetClient.VnetHeaderSize], .. head, .. body1, .. body2] : [.. head, .. body1, .. body2];
            Assert.Equal(expected, read.AsSpan(0, (int)n).ToArray());
            Assert.Equal(1, tap.Stats.ReceivedFrames);
            Assert.Equal(1, tap.Stats.ReceivedInPieces);
        }
        finally
        {
            await tap.DisposeAsync();
            await sender.DisposeAsync();
            Libc.Close(guestEnd);
        }
    }

    private sealed class PieceSender(string name) : NetClient(name, NetClientDriver.Nic)
    {
        public DeliveryResult Send(byte[] head, byte[] body1, byte[] body2) => SendGather(head, body1, body2);

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) => ReceiveResult.Accepted;
    }
}
