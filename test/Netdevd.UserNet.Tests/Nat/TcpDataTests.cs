using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

public sealed class TcpDataTests
{
    private static byte[] Pattern(int length, int seed = 0)
    {
        var b = new byte[length];
        for (var i = 0; i < b.Length; i++)
        {
            b[i] = (byte)(i * 7 + seed);
        }

        return b;
    }

    [Fact]
    public void Guest_data_in_order_reaches_the_host_and_is_acknowledged()
    {
        using var h = new TcpHarness();
        var data = Pattern(1000);
        h.SendData(data, TcpHarness.OurIss + 1);
        var ack = Assert.Single(h.Output.Take());
        Assert.Equal(h.GuestNext, ack.Ack);
        Assert.Equal(data, h.HostDrains());
    }

    [Fact]
    public void Out_of_order_segments_are_held_and_delivered_once_the_gap_fills()
    {
        using var h = new TcpHarness();
        var first = Pattern(500, 1);
        var second = Pattern(700, 2);
        var start = h.GuestNext;
        h.Send(TcpFlags.Ack, start + 500, TcpHarness.OurIss + 1, 65535, second);
        var dup = Assert.Single(h.Output.Take());
        Assert.Equal(start, dup.Ack); // duplicate ACK: still waiting for the first
        Assert.Empty(h.HostDrains());

        h.Send(TcpFlags.Ack, start, TcpHarness.OurIss + 1, 65535, first);
        Assert.Equal(start + 1200, h.Output.Take()[^1].Ack);
        Assert.Equal([.. first, .. second], h.HostDrains());
    }

    [Fact]
    public void In_order_data_is_taken_even_when_the_out_of_order_ranges_are_all_in_use()
    {
        // Eight scattered segments fill the assembler's ranges, then the guest sends the in-order
        // segment before them, which reaches none. It was refused like a ninth range, every time
        // the guest sent it again: the hole never closed and the connection stalled for good.
        using var h = new TcpHarness();
        var data = Pattern(2000);
        var start = h.GuestNext;
        for (var k = 0; k < SegmentAssembler.MaxRanges; k++)
        {
            var at = 200 + (k * 200);
            h.Send(TcpFlags.Ack, start + (uint)at, TcpHarness.OurIss + 1, 65535, data[at..(at + 100)]);
        }

        h.Output.Take();
        for (var retransmission = 0; retransmission < 3; retransmission++)
        {
            h.Send(TcpFlags.Ack, start, TcpHarness.OurIss + 1, 65535, data[..100]);
        }

        Assert.Equal(start + 100, h.Output.Take()[^1].Ack);
        Assert.Equal(data[..100], h.HostDrains());

        // The rest, sent again in order, follows.
        h.Send(TcpFlags.Ack, start + 100, TcpHarness.OurIss + 1, 65535, data[100..]);
        Assert.Equal(start + 2000, h.Output.Take()[^1].Ack);
        Assert.Equal(data[100..], h.HostDrains());
    }

    [Fact]
    public void Overlapping_retransmissions_are_trimmed()
    {
        using var h = new TcpHarness();
        var data = Pattern(1000);
        var start = h.GuestNext;
        h.Send(TcpFlags.Ack, start, TcpHarness.OurIss + 1, 65535, data[..600]);
        h.Send(TcpFlags.Ack, start + 400, TcpHarness.OurIss + 1, 65535, data[400..]);
        Assert.Equal(data, h.HostDrains());
        Assert.Equal(start + 1000, h.Output.Sent[^1].Ack);
    }

    [Fact]
    public void Host_data_is_cut_to_the_guests_mss_and_window()
    {
        using var h = new TcpHarness(guestMss: 1000, guestScale: null, guestWindow: 2500);
        h.HostSends(Pattern(4000));
        var sent = h.Output.Take();
        Assert.Equal([1000, 1000, 500], sent.Select(s => s.Payload.Length));
        Assert.Equal(TcpHarness.OurIss + 1, sent[0].Seq);

        h.Send(TcpFlags.Ack, h.GuestNext, TcpHarness.OurIss + 1 + 2500, 2500);
        sent = h.Output.Take();
        Assert.Equal([1000, 500], sent.Select(s => s.Payload.Length));
        Assert.True(sent[^1].Has(TcpFlags.Psh));
    }

    [Fact]
    public void Zero_window_stops_data_and_persist_probes_until_it_opens()
    {
        using var h = new TcpHarness(guestScale: null);
        h.Send(TcpFlags.Ack, h.GuestNext, TcpHarness.OurIss + 1, 0);
        h.HostSends(Pattern(3000));
        Assert.Empty(h.Output.Take());

        h.Advance(1000);
        var probe = Assert.Single(h.Output.Take());
        Assert.Equal(TcpHarness.OurIss, probe.Seq); // SND.UNA - 1: makes the guest answer with its window
        Assert.Empty(probe.Payload);

        h.Advance(2000);
        Assert.Single(h.Output.Take()); // backed off, still probing

        h.Send(TcpFlags.Ack, h.GuestNext, TcpHarness.OurIss + 1, 1460);
        var data = h.Output.Take();
        Assert.Equal(1460, Assert.Single(data).Payload.Length);
    }

    [Fact]
    public void A_full_receive_buffer_advertises_zero_and_announces_the_reopened_window()
    {
        using var h = new TcpHarness(settings: new TcpSettings { SendBufferSize = 4096, ReceiveBufferSize = 4096 }, guestScale: null);
        h.SendData(Pattern(4096), TcpHarness.OurIss + 1);
        var ack = h.Output.Take()[^1];
        Assert.Equal(0, ack.Window);

        // A segment beyond the zero window is not taken, but answered.
        h.Send(TcpFlags.Ack, h.GuestNext, TcpHarness.OurIss + 1, 65535, Pattern(10));
        Assert.Equal(h.GuestNext, h.Output.Take()[^1].Ack);

        Assert.Equal(4096, h.HostDrains().Length);
        var update = Assert.Single(h.Output.Take());
        Assert.Equal(4096, update.Window);
    }

    [Fact]
    public void Unacknowledged_data_is_retransmitted_with_a_doubling_timeout()
    {
        using var h = new TcpHarness();
        h.HostSends(Pattern(100));
        var first = Assert.Single(h.Output.Take());
        var rto = h.Connection.RetransmissionTimeoutMs;

        h.Advance(rto - 1);
        Assert.Empty(h.Output.Take());
        h.Advance(1);
        var again = Assert.Single(h.Output.Take());
        Assert.Equal(first.Seq, again.Seq);
        Assert.Equal(first.Payload, again.Payload);
        Assert.Equal(2 * rto, h.Connection.RetransmissionTimeoutMs);

        h.Send(TcpFlags.Ack, h.GuestNext, first.Seq + 100, 65535);
        h.Advance(10 * rto);
        Assert.Empty(h.Output.Take());
        Assert.Equal(0, h.Connection.SendBuffered);
    }

    [Fact]
    public void Three_duplicate_acks_trigger_a_fast_retransmit()
    {
        using var h = new TcpHarness(guestMss: 1000);
        h.HostSends(Pattern(5000));
        var sent = h.Output.Take();
        Assert.Equal(5, sent.Count);
        var una = TcpHarness.OurIss + 1 + 1000; // the first segment arrived, the second was lost
        h.Send(TcpFlags.Ack, h.GuestNext, una, 65535);
        for (var i = 0; i < 3; i++)
        {
            Assert.Empty(h.Output.Take());
            h.Send(TcpFlags.Ack, h.GuestNext, una, 65535); // duplicates
        }

        var resent = h.Output.Take();
        Assert.NotEmpty(resent);
        Assert.Equal(una, resent[0].Seq);
    }

    [Fact]
    public void Too_many_retransmissions_give_up_with_a_reset()
    {
        using var h = new TcpHarness(settings: new TcpSettings { SendBufferSize = 4096, ReceiveBufferSize = 4096, MaxRetransmissions = 2 });
        h.HostSends(Pattern(10));
        h.Output.Take();
        h.Advance(60_000);
        h.Advance(60_000);
        h.Advance(60_000);
        Assert.True(h.Output.Sent[^1].Has(TcpFlags.Rst));
        Assert.Equal(TcpState.Closed, h.Connection.State);
    }
}
