using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Tests;

/// <summary>Batch brackets: receivers see that they are inside one, and its end reaches them through a hub.</summary>
public sealed class BatchTests
{
    [Fact]
    public void Batch_end_reaches_every_other_port_peer_through_a_hub_and_not_the_sender()
    {
        var hubs = new Hubs.HubRegistry();
        var sender = new BatchClient("a");
        var b = new BatchClient("b");
        var c = new BatchClient("c");
        NetClient.Connect(hubs.AddPort(0, "pa"), sender);
        NetClient.Connect(hubs.AddPort(0, "pb"), b);
        NetClient.Connect(hubs.AddPort(0, "pc"), c);

        sender.SendBatch(3);

        Assert.Equal([true, true, true], b.InBatchOnReceive);
        Assert.Equal(1, b.BatchEnds);
        Assert.Equal(1, c.BatchEnds);
        Assert.Equal(0, sender.BatchEnds);

        // Outside a bracket receivers are told to write at once.
        sender.Inject(new byte[60]);
        Assert.False(b.InBatchOnReceive[^1]);
    }

    [Fact]
    public void Batch_end_reaches_a_direct_peer_and_brackets_nest()
    {
        var a = new BatchClient("a");
        var b = new BatchClient("b");
        NetClient.Connect(a, b);

        a.SendBatch(2, nested: true);

        Assert.Equal([true, true], b.InBatchOnReceive);
        Assert.Equal(2, b.BatchEnds);
        b.Inject(new byte[60]);
        Assert.False(a.InBatchOnReceive[^1]);
    }

    private sealed class BatchClient(string name) : NetClient(name, NetClientDriver.Socket)
    {
        public List<bool> InBatchOnReceive { get; } = [];

        public int BatchEnds { get; private set; }

        public DeliveryResult Inject(ReadOnlySpan<byte> frame) => Send(frame);

        public void SendBatch(int frames, bool nested = false)
        {
            BeginSendBatch();
            try
            {
                for (var i = 0; i < frames; i++)
                {
                    if (nested && i == frames - 1)
                    {
                        SendBatch(1);
                        continue;
                    }

                    Send(new byte[60]);
                }
            }
            finally
            {
                SendBatchEnd();
            }
        }

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
        {
            InBatchOnReceive.Add(InSendBatch);
            return ReceiveResult.Accepted;
        }

        protected internal override void OnBatchEnd() => BatchEnds++;
    }
}
