using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

public sealed class TcpHandshakeTests
{
    [Fact]
    public void Syn_ack_waits_for_the_host_connect_and_announces_mss_and_window_scale()
    {
        using var h = new TcpHarness(established: false);
        h.Dispatch();
        Assert.Empty(h.Output.Sent); // host not connected yet: silence, like libslirp

        h.Connection.HostConnected();
        h.Dispatch();
        var synAck = Assert.Single(h.Output.Take());
        Assert.True(synAck.Has(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(TcpHarness.OurIss, synAck.Seq);
        Assert.Equal(TcpHarness.GuestIss + 1, synAck.Ack);
        Assert.Equal((ushort)65495, synAck.Options.MaximumSegmentSize);
        Assert.NotNull(synAck.Options.WindowScale);

        h.Send(TcpFlags.Ack, TcpHarness.GuestIss + 1, TcpHarness.OurIss + 1, 512);
        Assert.Equal(TcpState.Established, h.Connection.State);
        Assert.Equal(512 << 7, h.Connection.GuestWindow); // scaled by the guest's shift after the SYN
    }

    [Fact]
    public void Without_the_guests_window_scale_option_neither_side_scales()
    {
        using var h = new TcpHarness(guestScale: null, established: false);
        h.Connection.HostConnected();
        h.Dispatch();
        var synAck = Assert.Single(h.Output.Take());
        Assert.Null(synAck.Options.WindowScale);
        h.Send(TcpFlags.Ack, TcpHarness.GuestIss + 1, TcpHarness.OurIss + 1, 1000);
        Assert.Equal(1000, h.Connection.GuestWindow);
        Assert.False(h.Connection.WindowScaling);
    }

    [Fact]
    public void A_refused_host_connect_resets_the_guest()
    {
        using var h = new TcpHarness(established: false);
        h.Connection.HostConnectFailed();
        var rst = Assert.Single(h.Output.Take());
        Assert.True(rst.Has(TcpFlags.Rst | TcpFlags.Ack));
        Assert.Equal(TcpHarness.GuestIss + 1, rst.Ack);
        Assert.Equal(TcpState.Closed, h.Connection.State);
    }

    [Fact]
    public void A_lost_syn_ack_is_sent_again_on_the_guests_retransmitted_syn_and_on_timeout()
    {
        using var h = new TcpHarness(established: false);
        h.Connection.HostConnected();
        h.Dispatch();
        h.Output.Take();
        h.Send(TcpFlags.Syn, TcpHarness.GuestIss, 0, 65535);
        Assert.True(Assert.Single(h.Output.Take()).Has(TcpFlags.Syn | TcpFlags.Ack));
        h.Advance(1000);
        Assert.True(Assert.Single(h.Output.Take()).Has(TcpFlags.Syn | TcpFlags.Ack));
    }

    [Fact]
    public void Active_open_for_a_host_forward_completes_on_the_guests_syn_ack()
    {
        var output = new RecordingTcpOutput();
        using var c = TcpConnection.Connect(new TcpSettings(), output, TcpHarness.Address, 7000, 0);
        c.Dispatch(0);
        var syn = Assert.Single(output.Take());
        Assert.Equal(TcpFlags.Syn, syn.Flags);
        Assert.NotNull(syn.Options.WindowScale);

        c.OnSegment(new TcpSegment(300, 7001, TcpFlags.Syn | TcpFlags.Ack, 29200, [], new TcpOptions { MaximumSegmentSize = 1460, WindowScale = 7 }), 5);
        c.Dispatch(5);
        Assert.Equal(TcpState.Established, c.State);
        var ack = Assert.Single(output.Take());
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(301u, ack.Ack);
        Assert.Equal(7001u, ack.Seq);
        Assert.Equal(1460, c.SendMss);
    }

    [Fact]
    public void A_syn_ack_acknowledging_something_else_gets_a_reset()
    {
        var output = new RecordingTcpOutput();
        using var c = TcpConnection.Connect(new TcpSettings(), output, TcpHarness.Address, 7000, 0);
        c.Dispatch(0);
        output.Take();
        c.OnSegment(new TcpSegment(300, 9999, TcpFlags.Syn | TcpFlags.Ack, 29200, [], default), 1);
        var rst = Assert.Single(output.Take());
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(9999u, rst.Seq);
        Assert.Equal(TcpState.SynSent, c.State);
    }
}
