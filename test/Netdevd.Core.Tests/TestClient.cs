using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Tests;

/// <summary>A backend stand-in that records what it receives and can play a slow receiver.</summary>
internal sealed class TestClient(string name) : NetClient(name, NetClientDriver.Socket, maxQueuedFrames: 8, maxQueuedBytes: 1 << 20)
{
    public List<byte[]> Received { get; } = [];

    /// <summary>While true, every frame is answered Busy and waits in the queue.</summary>
    public bool Busy { get; set; }

    public int PeerReadyCalls { get; private set; }

    public int BatchEnds { get; private set; }

    public DeliveryResult Inject(ReadOnlySpan<byte> frame) => Send(frame);

    /// <summary>Sends <paramref name="frames"/> inside one batch bracket, as a backend that reads many at once.</summary>
    public void InjectBatch(params byte[][] frames)
    {
        BeginSendBatch();
        try
        {
            foreach (var f in frames)
            {
                Send(f);
            }
        }
        finally
        {
            SendBatchEnd();
        }
    }

    public bool Drain()
    {
        Busy = false;
        return FlushQueue();
    }

    public int Waiting => QueuedFrames;

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        if (Busy)
        {
            return ReceiveResult.Busy;
        }

        Received.Add(frame.ToArray());
        return ReceiveResult.Accepted;
    }

    protected internal override void OnPeerReady() => PeerReadyCalls++;

    protected internal override void OnBatchEnd() => BatchEnds++;
}
