using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;

namespace Netdevd.UserNet;

/// <summary>Timers: TCP retransmission/persist/TIME-WAIT, flow expiry, service retransmissions.</summary>
public sealed partial class UserStack
{
    /// <summary>How often pending service work (DNS retries, TFTP retransmissions) is looked at.</summary>
    private const long ServiceIntervalMs = 10;

    /// <summary>The earliest deadline noted since the owner last asked (<see cref="TakeDeadline"/>).</summary>
    private long _deadline = long.MaxValue;

    /// <summary>Whether anything waits for <see cref="Poll"/> (so the owner can stop its timer when idle).</summary>
    public bool HasTimers => _arpMiss is not null || _tcp.Count > 0 || _udp.Count > 0 || _udpForwards.Count > 0 || _icmp.Count > 0
        || (_tftp is not null && _tftp.SessionCount > 0) || (Dns is not null && Dns.PendingCount > 0) || _fragments.InProgress > 0
        || _icmp6.Count > 0 || _udp6.Count > 0 || _ndp.PendingMiss is not null;

    /// <summary>
    /// The earliest time (stack clock, ms) <see cref="Poll"/> may have work among the deadlines set
    /// since the last call, or <see cref="long.MaxValue"/>; resets the note. A deadline that moved
    /// later since it was noted only makes the owner's timer fire early: <see cref="Poll"/> then
    /// notes the true earliest one. Costs nothing per flow, so the owner may ask after every pass.
    /// </summary>
    public long TakeDeadline()
    {
        NoteServices();
        var d = _deadline;
        _deadline = long.MaxValue;
        return d;
    }

    internal void NoteDeadline(long at)
    {
        if (at < _deadline)
        {
            _deadline = at;
        }
    }

    private void NoteServices()
    {
        // The clock is read only when a service waits: this runs after every pass, and an echo
        // or an ACK should not pay for a clock read that finds nothing to time. Connections a
        // sender's batch deferred wait for no timer while the batch is open: its end services
        // them (the netdev's I/O thread, taking the deadline between two frames of a batch,
        // armed the 10 ms tick for nothing).
        if ((_tftp is not null && _tftp.SessionCount > 0) || (Dns is not null && Dns.PendingCount > 0) || (_deferred.Count > 0 && !_inputBatch))
        {
            NoteDeadline(NowMs + ServiceIntervalMs);
        }

        if (_arpMiss is not null)
        {
            NoteDeadline(_lastArpRequestMs + ArpRequestIntervalMs);
        }

        if (_fragments.NextDeadline is var fragments and < long.MaxValue)
        {
            NoteDeadline(fragments);
        }

        // IPv6: the next periodic router advertisement, a neighbour solicitation a miss asked for.
        NoteDeadline(IdleWakeupMs);
        if (_ndp.PendingMiss is not null)
        {
            NoteDeadline(_lastNeighborSolicitationMs + 100);
        }
    }

    /// <summary>Runs every timer that is due, and notes the earliest deadline left.</summary>
    public void Poll()
    {
        // A batch whose end never came (a sender that brackets but whose end did not reach us)
        // must not hold its answers for longer than a tick.
        EndInputBatch();
        var now = NowMs;
        var due = _tcp.CollectDue(now, out var next);
        foreach (var key in due)
        {
            if (!_tcp.TryGet(key, out var c))
            {
                continue; // removed by an earlier connection's timer (eviction)
            }

            c.OnTimer(now);
            c.Dispatch(now);
            if (c.IsFinished)
            {
                Remove(c);
            }
            else
            {
                NoteDeadline(c.NextDeadline);
            }
        }

        NoteDeadline(next);
        for (var expired = _fragments.Expire(now); expired > 0; expired--)
        {
            Counters.Drop(FrameDropReason.FragmentTimeout);
        }

        ExpireUdp(now);
        ExpireIcmp(now);
        ExpireIcmp6(now);
        ExpireUdpForwards(now);
        PollServices();
        ResolveArpMiss(now);
        PollNdp(now);
    }
}
