using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Tests;

/// <summary>
/// A frame sent in pieces (headers, and a payload still in the sender's buffer) reaches a
/// receiver that writes pieces as they are, straight or through a hub's one other port; every
/// other receiver, one with frames waiting and a hub with more ports get it whole, the same bytes.
/// </summary>
public sealed class GatherSendTests
{
    private static readonly byte[] Head = [1, 2, 3, 4, 5];
    private static readonly byte[] Body1 = [6, 7, 8];
    private static readonly byte[] Body2 = [9];
    private static readonly byte[] Whole = [1, 2, 3, 4, 5, 6, 7, 8, 9];

    [Fact]
    public void A_peer_that_takes_pieces_gets_them_as_they_are()
    {
        var sender = new PieceSender("s");
        var receiver = new PieceReceiver("r");
        NetClient.Connect(sender, receiver);

        Assert.Equal(DeliveryResult.Delivered, sender.Send(Head, Body1, Body2));
        var (head, body1, body2) = Assert.Single(receiver.Pieces);
        Assert.Equal(Head, head);
        Assert.Equal(Body1, body1);
        Assert.Equal(Body2, body2);
        Assert.Empty(receiver.Whole);
        Assert.Equal(1, receiver.Stats.ReceivedInPieces);
        Assert.Equal(9, receiver.Stats.ReceivedBytes);
        Assert.Equal(9, sender.Stats.SentBytes);
    }

    [Fact]
    public void A_peer_that_takes_whole_frames_gets_the_pieces_joined()
    {
        var sender = new PieceSender("s");
        var receiver = new TestClient("r");
        NetClient.Connect(sender, receiver);

        sender.Send(Head, Body1, Body2);
        Assert.Equal(Whole, Assert.Single(receiver.Received));
    }

    [Fact]
    public void Through_a_hub_with_one_other_port_the_pieces_pass_and_the_ports_count_them()
    {
        var hubs = new HubRegistry();
        var sender = new PieceSender("s");
        var receiver = new PieceReceiver("r");
        var inPort = hubs.AddPort(0, "p0");
        var outPort = hubs.AddPort(0, "p1");
        NetClient.Connect(inPort, sender);
        NetClient.Connect(outPort, receiver);

        sender.Send(Head, Body1, Body2);
        var (head, body1, body2) = Assert.Single(receiver.Pieces);
        Assert.Equal(Whole, (byte[])[.. head, .. body1, .. body2]);
        Assert.Equal(1, inPort.Stats.ReceivedFrames);
        Assert.Equal(1, outPort.Stats.SentFrames);
        Assert.Equal(9, outPort.Stats.SentBytes);
    }

    [Fact]
    public void Through_a_hub_with_more_ports_every_other_end_gets_the_whole_frame()
    {
        var hubs = new HubRegistry();
        var sender = new PieceSender("s");
        var pieces = new PieceReceiver("r");
        var whole = new TestClient("w");
        NetClient.Connect(hubs.AddPort(0, "p0"), sender);
        NetClient.Connect(hubs.AddPort(0, "p1"), pieces);
        NetClient.Connect(hubs.AddPort(0, "p2"), whole);

        sender.Send(Head, Body1, Body2);
        Assert.Equal(Whole, Assert.Single(pieces.Whole));
        Assert.Empty(pieces.Pieces);
        Assert.Equal(Whole, Assert.Single(whole.Received));
    }

    [Fact]
    public void Behind_waiting_frames_the_pieces_wait_whole_and_keep_their_order()
    {
        var sender = new PieceSender("s");
        var receiver = new PieceReceiver("r") { Busy = true };
        NetClient.Connect(sender, receiver);

        Assert.Equal(DeliveryResult.Queued, sender.SendWhole([42]));
        Assert.Equal(DeliveryResult.Queued, sender.Send(Head, Body1, Body2));
        receiver.Busy = false;
        receiver.Flush();
        Assert.Equal([[42], Whole], receiver.Whole);
        Assert.Empty(receiver.Pieces);
        Assert.Equal(0, receiver.Stats.ReceivedInPieces);
    }

    [Fact]
    public void A_link_that_is_down_drops_the_frame_and_counts_it()
    {
        var sender = new PieceSender("s");
        var receiver = new PieceReceiver("r");
        NetClient.Connect(sender, receiver);
        receiver.SetLinkUp(false);

        sender.Send(Head, Body1, Body2);
        Assert.Empty(receiver.Pieces);
        Assert.Equal(1, receiver.Stats.Dropped);
    }

    private sealed class PieceSender(string name) : NetClient(name, NetClientDriver.Socket)
    {
        public DeliveryResult Send(byte[] head, byte[] body1, byte[] body2) => SendGather(head, body1, body2);

        public DeliveryResult SendWhole(byte[] frame) => Send(frame);

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) => ReceiveResult.Accepted;
    }

    private sealed class PieceReceiver(string name) : NetClient(name, NetClientDriver.Socket)
    {
        public List<(byte[] Head, byte[] Body1, byte[] Body2)> Pieces { get; } = [];

        public List<byte[]> Whole { get; } = [];

        public bool Busy { get; set; }

        public void Flush() => FlushQueue();

        protected override bool ReceivesGather => true;

        protected override ReceiveResult ReceiveGather(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body1, ReadOnlySpan<byte> body2)
        {
            if (Busy)
            {
                return ReceiveResult.Busy;
            }

            Pieces.Add((head.ToArray(), body1.ToArray(), body2.ToArray()));
            return ReceiveResult.Accepted;
        }

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
        {
            if (Busy)
            {
                return ReceiveResult.Busy;
            }

            Whole.Add(frame.ToArray());
            return ReceiveResult.Accepted;
        }
    }
}
