using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;

namespace Netdevd.UserNet;

/// <summary>Timers: TCP retransmission/persist/TIME-WAIT, flow expiry, service retransmissions.</summary>
public sealed partial class UserStack
{
    /// <summary>Whether anything waits for <see cref="Poll"/> (so the owner can stop its timer when idle).</summary>
    public bool HasTimers => _arpMiss is not null || _tcp.Count > 0 || _udp.Count > 0 || _udpForwards.Count > 0 || _icmp.Count > 0
        || (_tftp is not null && _tftp.SessionCount > 0) || (Dns is not null && Dns.PendingCount > 0) || _fragments.InProgress > 0
        || _icmp6.Count > 0 || _ndp.PendingMiss is not null;

    /// <summary>Runs every timer that is due.</summary>
    public void Poll()
    {
        // A batch whose end never came (a sender that brackets but whose end did not reach us)
        // must not hold its answers for longer than a tick.
        EndInputBatch();
        var now = NowMs;
        foreach (var (key, c) in _tcp)
        {
            if (c.NextDeadline <= now)
            {
                c.OnTimer(now);
                c.Dispatch(now);
            }

            if (c.IsFinished)
            {
                _finished.Add(key);
            }
        }

        foreach (var key in _finished)
        {
            if (_tcp.TryGetValue(key, out var c))
            {
                Remove(c);
            }
        }

        _finished.Clear();
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
