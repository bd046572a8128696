using Microsoft.Extensions.Logging;
using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Tests;

/// <summary>
/// One bad frame never takes a netdev down: an exception while a client handles a frame drops that
/// frame, counts it in Stats.Faults, is logged once, and the sender, the client and later frames go
/// on; FrameFaults.Rethrow makes it visible again. (The tests of this class run one after another,
/// so the one that sets the process-wide switch affects no other.)
/// </summary>
public sealed class FaultContainmentTests
{
    private static readonly byte[] Bad = [0xEE, 1, 2, 3];
    private static readonly byte[] Good = [0x01, 1, 2, 3];

    [Fact]
    public void A_client_whose_Receive_throws_drops_that_frame_counts_it_and_takes_the_next()
    {
        var sender = new TestClient("sender");
        var victim = new FaultyClient("victim");
        NetClient.Connect(sender, victim);

        Assert.Equal(DeliveryResult.Delivered, sender.Inject(Bad));
        Assert.Equal(DeliveryResult.Delivered, sender.Inject(Good));

        Assert.Equal(1, victim.Stats.Faults);
        Assert.Equal(Good, Assert.Single(victim.Received));
        Assert.Equal(1, victim.Stats.ReceivedFrames);
    }

    [Fact]
    public void A_faulting_end_of_a_hub_does_not_keep_the_frame_from_the_others()
    {
        var hubs = new HubRegistry();
        var sender = new TestClient("sender");
        NetClient.Connect(hubs.AddPort(0, "ps"), sender);
        var other = new TestClient("other");
        NetClient.Connect(hubs.AddPort(0, "po"), other);

        // Newest port first: the faulting end is flooded before the other one.
        var victim = new FaultyClient("victim");
        NetClient.Connect(hubs.AddPort(0, "pv"), victim);

        sender.Inject(Bad);

        Assert.Equal(Bad, Assert.Single(other.Received));
        Assert.Equal(1, victim.Stats.Faults);
    }

    [Fact]
    public void A_queued_frame_that_faults_is_dropped_and_the_queue_drains_behind_it()
    {
        var sender = new TestClient("sender");
        var victim = new FaultyClient("victim") { Busy = true };
        NetClient.Connect(sender, victim);
        Assert.Equal(DeliveryResult.Queued, sender.Inject(Good));
        Assert.Equal(DeliveryResult.Queued, sender.Inject(Bad));
        Assert.Equal(DeliveryResult.Queued, sender.Inject(Good));

        Assert.True(victim.Drain());

        Assert.Equal([Good, Good], victim.Received);
        Assert.Equal(1, victim.Stats.Faults);
        Assert.Equal(1, sender.PeerReadyCalls);
    }

    [Fact]
    public void A_batch_end_or_a_wake_that_throws_is_the_faulting_clients_not_the_callers()
    {
        var sender = new FaultyClient("sender") { ThrowOnBatchEnd = true, ThrowOnPeerReady = true };
        var receiver = new FaultyClient("receiver") { ThrowOnBatchEnd = true, Busy = true };
        NetClient.Connect(sender, receiver);

        sender.SendBatch(Good);
        Assert.Equal(1, receiver.Stats.Faults);

        Assert.True(receiver.Drain());
        Assert.Equal(1, sender.Stats.Faults);
    }

    [Fact]
    public void The_first_fault_of_a_netdev_is_logged_once_with_its_name_and_layer()
    {
        var sender = new TestClient("sender");
        var logger = new RecordingLogger();
        var victim = new FaultyClient("victim") { FaultLogger = logger };
        NetClient.Connect(sender, victim);

        sender.Inject(Bad);
        sender.Inject(Bad);

        Assert.Equal(2, victim.Stats.Faults);
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Contains("netdev 'victim'", entry.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(FaultyClient), entry.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(InvalidDataException), entry.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidDataException>(entry.Exception);
    }

    [Fact]
    public void With_the_rethrow_switch_a_fault_surfaces_where_it_was_thrown_and_is_still_counted()
    {
        var sender = new TestClient("sender");
        var victim = new FaultyClient("victim");
        NetClient.Connect(sender, victim);
        FrameFaults.Rethrow = true;
        try
        {
            Assert.Throws<InvalidDataException>(() => sender.Inject(Bad));
        }
        finally
        {
            FrameFaults.Rethrow = false;
        }

        Assert.Equal(1, victim.Stats.Faults);
        Assert.Equal("NETDEVD_RETHROW_FRAME_FAULTS", FrameFaults.RethrowVariable);
    }

    /// <summary>Throws on frames that start with 0xEE, as a parser with a bug would on one input.</summary>
    private sealed class FaultyClient(string name) : NetClient(name, NetClientDriver.Socket)
    {
        public List<byte[]> Received { get; } = [];

        public bool Busy { get; set; }

        public bool ThrowOnBatchEnd { get; init; }

        public bool ThrowOnPeerReady { get; init; }

        public DeliveryResult Inject(ReadOnlySpan<byte> frame) => Send(frame);

        public void SendBatch(byte[] frame)
        {
            BeginSendBatch();
            try
            {
                Send(frame);
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

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
        {
            if (Busy)
            {
                return ReceiveResult.Busy;
            }

            if (frame[0] == 0xEE)
            {
                throw new InvalidDataException("bad frame");
            }

            Received.Add(frame.ToArray());
            return ReceiveResult.Accepted;
        }

        protected internal override void OnBatchEnd()
        {
            if (ThrowOnBatchEnd)
            {
                throw new InvalidOperationException("batch end");
            }
        }

        protected internal override void OnPeerReady()
        {
            if (ThrowOnPeerReady)
            {
                throw new InvalidOperationException("peer ready");
            }
        }
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
            {
                Entries.Add((logLevel, formatter(state, exception), exception));
            }
        }
    }
}
