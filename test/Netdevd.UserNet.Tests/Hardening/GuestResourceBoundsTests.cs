using Netdevd.UserNet.Host;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Hardening;

/// <summary>
/// What a guest can make one user netdev hold or emit (issue [05] item 9): a tiny TCP MSS, many
/// flows, many queued frames. Bytes in, counters and frames out.
/// </summary>
public sealed class GuestResourceBoundsTests : NatStackHarness
{
    private const long Mib = 1024 * 1024;

    /// <summary>Guest SYN, host connect, guest ACK: an established flow from guest port <paramref name="port"/>.</summary>
    private TcpConnection Establish(ushort port, ushort mss = 1460)
    {
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, port, 8080, 100, 0, TcpFlags.Syn, options: new TcpOptions { MaximumSegmentSize = mss }));
        var connection = NatHost.Opened[^1].Connection;
        Stack.OnTcpConnected(connection, true);
        var synAck = ParseTcp(Sink.Take()[^1]);
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, port, 8080, 101, synAck.SequenceNumber + 1, TcpFlags.Ack));
        Assert.Equal(TcpState.Established, connection.State);
        return connection;
    }

    [Fact]
    public void A_guest_mss_of_1_does_not_make_the_stack_emit_one_byte_segments()
    {
        var connection = Establish(40000, mss: 1);
        connection.HostReadBuffer().AsSpan(0, 3000).Fill(0x42);
        Stack.OnTcpReceived(connection, 3000);

        var frames = Sink.Take();
        Assert.NotEmpty(frames);
        for (var i = 0; i < frames.Count - 1; i++)
        {
            Assert.Equal(32, ParseTcp(frames[i]).Payload.Length); // libslirp's floor
        }

        Assert.True(frames.Count <= (3000 + 31) / 32);
    }

    [Fact]
    public void Flows_beyond_the_memory_budget_get_small_buffers_then_resets_and_are_counted()
    {
        // 4 MiB: two full-size flows (1 MiB each) fill the half for them, 32 small ones (2 x 16 KiB)
        // the next quarter; the rest is refused.
        Recreate(new UserStackOptions { Limits = new NatLimits { MemoryLimit = 4 * Mib } });
        for (ushort port = 20000; port < 20100; port++)
        {
            Stack.Input(GuestFrames.Tcp(GuestFrames.Host, port, 80, 100, 0, TcpFlags.Syn));
        }

        Assert.Equal(34, NatHost.Opened.Count);
        Assert.Equal(66, Stack.Counters.Drops(FrameDropReason.MemoryLimit));
        var resets = Sink.Take();
        Assert.Equal(66, resets.Count);
        Assert.All(resets, f => Assert.True(ParseTcp(f).Rst));
        Assert.True(Stack.Budget.Peak <= 4 * Mib);
        Assert.True(Stack.Budget.Refusals >= 66);
        Assert.Equal(512 * 1024, NatHost.Opened[0].Connection.HostReadBuffer().Count);
        Assert.Equal(16 * 1024, NatHost.Opened[^1].Connection.HostReadBuffer().Count);
    }

    [Fact]
    public void Existing_flows_keep_working_at_the_budget_and_a_new_flow_works_once_one_closed()
    {
        Recreate(new UserStackOptions { Limits = new NatLimits { MemoryLimit = 4 * Mib } });
        var first = Establish(30000);
        for (ushort port = 30001; port < 30100; port++)
        {
            Stack.Input(GuestFrames.Tcp(GuestFrames.Host, port, 80, 100, 0, TcpFlags.Syn));
        }

        Sink.Take();
        Assert.True(Stack.Counters.Drops(FrameDropReason.MemoryLimit) > 0);

        // The established flow still carries data both ways.
        first.HostReadBuffer().AsSpan(0, 1000).Fill(7);
        Stack.OnTcpReceived(first, 1000);
        var data = ParseTcp(Assert.Single(Sink.Take()));
        Assert.Equal(1000, data.Payload.Length);
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 30000, 8080, 101, data.SequenceNumber + 1000, TcpFlags.Ack | TcpFlags.Psh, new byte[500]));
        Assert.Equal(500, first.HostWriteBuffer().Count);
        Assert.Equal(601u, ParseTcp(Assert.Single(Sink.Take())).AcknowledgmentNumber);

        // A refused one: then one flow is reset by the guest, and the same SYN succeeds.
        var opened = NatHost.Opened.Count;
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 31000, 80, 100, 0, TcpFlags.Syn));
        Assert.Equal(opened, NatHost.Opened.Count);
        Assert.True(ParseTcp(Assert.Single(Sink.Take())).Rst);
        var used = Stack.Budget.Used;

        Stack.OnTcpConnected(NatHost.Opened[^1].Connection, false); // the host refused one of them: it closes
        Assert.True(Stack.Budget.Used < used);
        Sink.Take();
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 31000, 80, 100, 0, TcpFlags.Syn));
        Assert.Equal(opened + 1, NatHost.Opened.Count);
    }

    [Fact]
    public void Closed_flows_give_their_buffers_back_to_the_budget()
    {
        for (ushort port = 21000; port < 21010; port++)
        {
            Stack.Input(GuestFrames.Tcp(GuestFrames.Host, port, 80, 100, 0, TcpFlags.Syn));
        }

        Assert.Equal(10 * Mib, Stack.Budget.Used);
        foreach (var (connection, _) in NatHost.Opened)
        {
            Stack.OnTcpConnected(connection, false);
        }

        Assert.Equal(0, Stack.TcpFlowCount);
        Assert.Equal(0, Stack.Budget.Used);
    }

    [Fact]
    public void The_default_budget_is_128_mib()
    {
        Assert.Equal(128 * Mib, new NatLimits().MemoryLimit);
        Assert.Equal(128 * Mib, Stack.Budget.Limit);
    }

    [Fact]
    public void Frames_queued_for_the_guest_are_bounded_by_the_budget_and_released_when_sent()
    {
        var budget = new MemoryBudget(64 * 1024);
        var refusedOnce = 0;
        budget.FirstRefusal = () => refusedOnce++;
        var queue = new GuestOutputQueue(8192, budget);
        var queued = 0;
        while (queue.Allocate(1514).Length > 0)
        {
            queue.Commit(1514);
            queued++;
        }

        Assert.Equal(32, queued); // 2048-byte buffers in 64 KiB
        Assert.True(budget.Used <= budget.Limit);
        Assert.Equal(1, queue.Overflows);
        Assert.Equal(1, refusedOnce);

        Assert.True(queue.TryDequeue(out var buffer, out _, out _, out _, out _));
        queue.Return(buffer);
        Assert.True(queue.Allocate(1514).Length > 0);
        queue.Commit(60);
        queue.Clear();
        Assert.Equal(0, budget.Used);
        Assert.Equal(1, refusedOnce); // logged once
    }

    [Fact]
    public void Reassembly_held_bytes_are_bounded_by_the_budget_and_the_oldest_gives_way()
    {
        // Room for three datagrams in progress (64 KiB each) in a 200 KiB budget.
        Recreate(new UserStackOptions { Limits = new NatLimits { MemoryLimit = 200 * 1024 } });
        for (ushort id = 0; id < 10; id++)
        {
            Stack.Input(RawFragments.Frame(GuestFrames.Host, IpProtocol.Udp, id, 0, more: true, new byte[1480]));
        }

        Assert.True(Stack.Budget.Peak <= 200 * 1024);
        Assert.Equal(7, Stack.Counters.Drops(FrameDropReason.FragmentLimit));

        foreach (var piece in GuestFrames.Fragment(GuestFrames.Ping(GuestFrames.Host, id: 1, seq: 1, dataLength: 3000), 1480, identification: 999))
        {
            Stack.Input(piece);
        }

        Assert.Equal(3, Sink.Take().Count);
    }
}
