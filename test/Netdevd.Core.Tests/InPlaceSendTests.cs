using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Tests;

/// <summary>
/// Sending in place: a sender reads the next frame straight into its receiver's buffer (directly
/// or through a two-port hub) and the receiver takes it without a copy; everywhere a copy would
/// change what a user sees (a third port, frames already queued) the frame takes the ordinary path.
/// </summary>
public sealed class InPlaceSendTests
{
    private static byte[] Frame(int length, byte seed)
    {
        var f = new byte[length];
        for (var i = 0; i < f.Length; i++)
        {
            f[i] = (byte)(seed + i);
        }

        return f;
    }

    [Fact]
    public void A_frame_read_into_the_peers_buffer_arrives_in_that_buffer_and_is_counted()
    {
        var source = new InPlaceSource("src");
        var sink = new LendingClient("dst");
        NetClient.Connect(source, sink);
        var frame = Frame(1514, 3);

        Assert.True(source.TrySendInPlace(frame));

        Assert.Equal(frame, Assert.Single(sink.Received));
        Assert.True(sink.TookFromItsOwnBuffer);
        Assert.Equal(1, sink.Stats.ReceivedInPlace);
        Assert.Equal(1, sink.Stats.ReceivedFrames);
        Assert.Equal(1, source.Stats.SentFrames);
        Assert.Equal(1514, source.Stats.SentBytes);
    }

    [Fact]
    public void Through_a_two_port_hub_the_frame_is_read_into_the_other_ends_buffer_and_both_ports_count_it()
    {
        var hubs = new HubRegistry();
        var inPort = hubs.AddPort(0, "in");
        var outPort = hubs.AddPort(0, "out");
        var source = new InPlaceSource("src");
        var sink = new LendingClient("dst");
        NetClient.Connect(inPort, source);
        NetClient.Connect(outPort, sink);
        var frame = Frame(9000, 1);

        Assert.True(source.TrySendInPlace(frame));

        Assert.Equal(frame, Assert.Single(sink.Received));
        Assert.Equal(1, sink.Stats.ReceivedInPlace);
        Assert.Equal((1, 9000L), (inPort.Stats.ReceivedFrames, inPort.Stats.ReceivedBytes));
        Assert.Equal((1, 9000L), (outPort.Stats.SentFrames, outPort.Stats.SentBytes));
    }

    [Fact]
    public void With_a_third_port_every_port_gets_the_frame_by_the_ordinary_path()
    {
        var hubs = new HubRegistry();
        var source = new InPlaceSource("src");
        var sink = new LendingClient("dst");
        var other = new TestClient("other");
        NetClient.Connect(hubs.AddPort(0, "in"), source);
        NetClient.Connect(hubs.AddPort(0, "out"), sink);
        NetClient.Connect(hubs.AddPort(0, "third"), other);
        var frame = Frame(100, 9);

        Assert.False(source.TrySendInPlace(frame));

        Assert.Equal(frame, Assert.Single(sink.Received));
        Assert.Equal(frame, Assert.Single(other.Received));
        Assert.Equal(0, sink.Stats.ReceivedInPlace);
        Assert.False(sink.TookFromItsOwnBuffer);
    }

    [Fact]
    public void While_frames_wait_in_the_receivers_queue_the_next_one_queues_behind_them()
    {
        var source = new InPlaceSource("src");
        var sink = new LendingClient("dst") { Busy = true };
        NetClient.Connect(source, sink);
        var first = Frame(60, 1);
        var second = Frame(60, 2);

        Assert.Equal(DeliveryResult.Queued, source.SendCopied(first));
        sink.Busy = false;
        Assert.False(source.TrySendInPlace(second));
        sink.Flush();

        Assert.Equal([first, second], sink.Received);
        Assert.Equal(0, sink.Stats.ReceivedInPlace);
    }

    [Fact]
    public void Nothing_read_gives_the_buffer_back_and_counts_nothing()
    {
        var source = new InPlaceSource("src");
        var sink = new LendingClient("dst");
        NetClient.Connect(source, sink);

        Assert.True(source.TryAbandonInPlace());

        Assert.Empty(sink.Received);
        Assert.Equal(1, sink.Returned);
        Assert.Equal(0, sink.Stats.ReceivedFrames);
        Assert.Equal(0, source.Stats.SentFrames);

        // The receiver's lock was released: the next frame goes in.
        Assert.True(source.TrySendInPlace(Frame(60, 5)));
        Assert.Single(sink.Received);
    }

    [Fact]
    public void A_buffer_smaller_than_the_largest_frame_is_not_taken()
    {
        var source = new InPlaceSource("src");
        var sink = new LendingClient("dst", NetClient.MinimumInPlaceBuffer - 1);
        NetClient.Connect(source, sink);
        var frame = Frame(60, 5);

        Assert.False(source.TrySendInPlace(frame));

        Assert.Equal(1, sink.Returned);
        Assert.Equal(frame, Assert.Single(sink.Received));
        Assert.Equal(0, sink.Stats.ReceivedInPlace);
    }

    [Fact]
    public void Sending_in_place_through_a_hub_allocates_nothing_per_frame()
    {
        var hubs = new HubRegistry();
        var source = new InPlaceSource("src");
        var sink = new LendingClient("dst") { Keep = false };
        NetClient.Connect(hubs.AddPort(0, "in"), source);
        NetClient.Connect(hubs.AddPort(0, "out"), sink);
        var frame = Frame(65000, 1);
        Assert.True(source.TrySendInPlace(frame));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            source.TrySendInPlace(frame);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1001, sink.Stats.ReceivedInPlace);
    }

    [Fact]
    public void A_receiver_that_never_lends_is_not_asked_and_takes_the_frame_by_receive()
    {
        var hubs = new HubRegistry();
        var inPort = hubs.AddPort(0, "in");
        var outPort = hubs.AddPort(0, "out");
        var source = new InPlaceSource("src");
        var sink = new NonLendingClient("dst");
        NetClient.Connect(inPort, source);
        NetClient.Connect(outPort, sink);

        Assert.False(source.TrySendInPlace(Frame(1514, 5)));

        // The user netdev's case: a tap's every frame asked its lock for a buffer it never lends.
        Assert.Equal(0, sink.Asked);
        Assert.Equal(1, sink.Stats.ReceivedFrames);
        Assert.Equal(0, sink.Stats.ReceivedInPlace);
    }

    /// <summary>A receiver of the default kind: it takes frames by Receive and never lends.</summary>
    private sealed class NonLendingClient(string name) : NetClient(name, NetClientDriver.Socket)
    {
        public int Asked { get; private set; }

        protected override bool TryLeaseReceiveBuffer(out Span<byte> buffer)
        {
            Asked++;
            return base.TryLeaseReceiveBuffer(out buffer);
        }

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) => ReceiveResult.Accepted;
    }

    /// <summary>A sender that reads frames in place when it can (the frame is "read" by copying it in), else sends them.</summary>
    private sealed class InPlaceSource(string name) : NetClient(name, NetClientDriver.Socket)
    {
        public bool TrySendInPlace(byte[] frame)
        {
            if (!TryBeginSendInPlace(out var buffer))
            {
                Send(frame);
                return false;
            }

            frame.CopyTo(buffer);
            EndSendInPlace(frame.Length);
            return true;
        }

        public DeliveryResult SendCopied(byte[] frame) => Send(frame);

        public bool TryAbandonInPlace()
        {
            if (!TryBeginSendInPlace(out _))
            {
                return false;
            }

            EndSendInPlace(-1);
            return true;
        }

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) => ReceiveResult.Accepted;
    }

    /// <summary>A receiver that lends one buffer of its own.</summary>
    private sealed class LendingClient(string name, int bufferSize = NetClient.MinimumInPlaceBuffer) : NetClient(name, NetClientDriver.Socket)
    {
        private readonly byte[] _buffer = new byte[bufferSize];

        public List<byte[]> Received { get; } = [];

        public bool Busy { get; set; }

        /// <summary>Whether frames taken are kept in <see cref="Received"/> (false: only counted).</summary>
        public bool Keep { get; set; } = true;

        public bool TookFromItsOwnBuffer { get; private set; }

        public int Returned { get; private set; }

        public void Flush() => FlushQueue();

        protected override bool LendsReceiveBuffers => true;

        protected override bool TryLeaseReceiveBuffer(out Span<byte> buffer)
        {
            buffer = _buffer;
            return true;
        }

        protected override void CompleteReceiveBuffer(int length)
        {
            if (length < 0)
            {
                Returned++;
                return;
            }

            TookFromItsOwnBuffer = true;
            if (Keep)
            {
                Received.Add(_buffer.AsSpan(0, length).ToArray());
            }
        }

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
        {
            if (Busy)
            {
                return ReceiveResult.Busy;
            }

            Received.Add(frame.ToArray());
            return ReceiveResult.Accepted;
        }
    }
}
