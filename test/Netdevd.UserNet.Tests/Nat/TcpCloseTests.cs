using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

public sealed class TcpCloseTests
{
    [Fact]
    public void Guest_half_close_lets_host_data_flow_until_the_host_closes_too()
    {
        using var h = new TcpHarness();
        h.Send(TcpFlags.Fin | TcpFlags.Ack, h.GuestNext, TcpHarness.OurIss + 1, 65535);
        h.GuestNext++;
        Assert.Equal(TcpState.CloseWait, h.Connection.State);
        Assert.True(h.Connection.WantsHostShutdown);
        Assert.Equal(h.GuestNext, h.Output.Take()[^1].Ack);

        h.HostSends([1, 2, 3]);
        var data = Assert.Single(h.Output.Take());
        Assert.Equal([1, 2, 3], data.Payload);

        h.Connection.HostReceived(0); // host EOF
        h.Dispatch();
        var fin = Assert.Single(h.Output.Take());
        Assert.True(fin.Has(TcpFlags.Fin));
        Assert.Equal(TcpState.LastAck, h.Connection.State);

        h.Send(TcpFlags.Ack, h.GuestNext, fin.Seq + 1, 65535);
        Assert.Equal(TcpState.Closed, h.Connection.State);
        Assert.True(h.Connection.IsFinished);
    }

    [Fact]
    public void A_fin_acknowledged_after_a_retransmission_took_it_back_still_closes()
    {
        using var h = new TcpHarness(guestScale: null, guestWindow: 4000);
        h.HostSends(new byte[2000]);
        h.Connection.HostReceived(0);
        h.Dispatch();
        var fin = h.Output.Take()[^1];
        Assert.True(fin.Has(TcpFlags.Fin));

        // The guest shrinks its window, then the retransmission timeout resends what fits: the
        // FIN waits behind the rest of the data.
        h.Send(TcpFlags.Ack, h.GuestNext, TcpHarness.OurIss + 1, 1000);
        h.Output.Take();
        h.Advance(1000);
        Assert.DoesNotContain(h.Output.Take(), s => s.Has(TcpFlags.Fin));

        // The guest had everything the first time and acknowledges the FIN: that closes our side.
        // It stayed in FIN-WAIT-1 and sent a second FIN one past the first, never acknowledged.
        h.Send(TcpFlags.Ack, h.GuestNext, fin.Seq + 1, 65535);
        Assert.Equal(TcpState.FinWait2, h.Connection.State);
        Assert.DoesNotContain(h.Output.Take(), s => s.Has(TcpFlags.Fin));
    }

    [Fact]
    public void Simultaneous_close_goes_through_closing_and_a_bounded_time_wait()
    {
        using var h = new TcpHarness(settings: new TcpSettings { SendBufferSize = 4096, ReceiveBufferSize = 4096, TimeWaitMs = 500 });
        h.Connection.HostReceived(0);
        h.Dispatch();
        var fin = Assert.Single(h.Output.Take());
        Assert.True(fin.Has(TcpFlags.Fin));
        Assert.Equal(TcpState.FinWait1, h.Connection.State);

        // The guest's FIN crosses ours: it does not acknowledge our FIN yet.
        h.Send(TcpFlags.Fin | TcpFlags.Ack, h.GuestNext, fin.Seq, 65535);
        h.GuestNext++;
        Assert.Equal(TcpState.Closing, h.Connection.State);
        Assert.Equal(h.GuestNext, h.Output.Take()[^1].Ack);

        h.Send(TcpFlags.Ack, h.GuestNext, fin.Seq + 1, 65535);
        Assert.Equal(TcpState.TimeWait, h.Connection.State);

        // A retransmitted FIN in TIME-WAIT is acknowledged again.
        h.Send(TcpFlags.Fin | TcpFlags.Ack, h.GuestNext - 1, fin.Seq + 1, 65535);
        Assert.Equal(h.GuestNext, Assert.Single(h.Output.Take()).Ack);

        h.Advance(499);
        Assert.Equal(TcpState.TimeWait, h.Connection.State);
        h.Advance(1);
        Assert.Equal(TcpState.Closed, h.Connection.State);
    }

    [Fact]
    public void A_lost_fin_is_retransmitted()
    {
        using var h = new TcpHarness();
        h.Connection.HostReceived(0);
        h.Dispatch();
        var fin = Assert.Single(h.Output.Take());
        h.Advance(h.Connection.RetransmissionTimeoutMs);
        var again = Assert.Single(h.Output.Take());
        Assert.True(again.Has(TcpFlags.Fin));
        Assert.Equal(fin.Seq, again.Seq);
    }

    [Fact]
    public void An_exact_reset_closes_and_a_wrong_one_gets_a_challenge_ack()
    {
        using var h = new TcpHarness();
        h.Send(TcpFlags.Rst, h.GuestNext + 10, 0, 0);
        Assert.Equal(TcpState.Established, h.Connection.State);
        Assert.Equal(h.GuestNext, Assert.Single(h.Output.Take()).Ack);

        h.Send(TcpFlags.Rst, h.GuestNext, 0, 0);
        Assert.Equal(TcpState.Closed, h.Connection.State);
        Assert.True(h.Connection.ResetByGuest);
        Assert.Empty(h.Output.Take());
    }

    [Fact]
    public void A_host_reset_resets_the_guest()
    {
        using var h = new TcpHarness();
        h.Connection.HostReset();
        var rst = Assert.Single(h.Output.Take());
        Assert.True(rst.Has(TcpFlags.Rst));
        Assert.Equal(TcpHarness.OurIss + 1, rst.Seq);
        Assert.Equal(TcpState.Closed, h.Connection.State);
    }

    [Fact]
    public void A_syn_on_an_established_connection_gets_a_challenge_ack()
    {
        using var h = new TcpHarness();
        h.Send(TcpFlags.Syn, h.GuestNext + 5, 0, 65535);
        Assert.Equal(TcpState.Established, h.Connection.State);
        var ack = Assert.Single(h.Output.Take());
        Assert.Equal(TcpFlags.Ack, ack.Flags);
    }
}
