using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>Retransmission (RFC 6298 RTO, go-back-N), zero-window persist probes, TIME-WAIT and handshake limits.</summary>
internal sealed partial class TcpConnection
{
    private int _srttMs = -1;
    private int _rttvarMs;
    private int _rto;
    private long _rtoDeadline;
    private int _retries;
    private bool _rttActive;
    private uint _rttSeq;
    private long _rttStartMs;
    private int _dupAcks;
    private long _persistDeadline;
    private int _persistBackoffMs;
    private long _timeWaitDeadline;
    private long _handshakeDeadline;

    /// <summary>The current retransmission timeout.</summary>
    public int RetransmissionTimeoutMs => _rto;

    /// <summary>The earliest time <see cref="OnTimer"/> has work, or <see cref="long.MaxValue"/>.</summary>
    public long NextDeadline
    {
        get
        {
            var next = long.MaxValue;
            Earliest(ref next, _rtoDeadline);
            Earliest(ref next, _persistDeadline);
            Earliest(ref next, _timeWaitDeadline);
            Earliest(ref next, _handshakeDeadline);
            return next;
        }
    }

    long IFlow.Deadline => NextDeadline;

    /// <summary>Runs the timers that are due; call <see cref="Dispatch"/> afterwards.</summary>
    public void OnTimer(long nowMs)
    {
        if (State == TcpState.Closed)
        {
            return;
        }

        if (State == TcpState.TimeWait)
        {
            if (nowMs >= _timeWaitDeadline)
            {
                State = TcpState.Closed;
            }

            return;
        }

        if (_handshakeDeadline != 0 && nowMs >= _handshakeDeadline && State is TcpState.SynSent or TcpState.SynReceived)
        {
            Reset();
            return;
        }

        if (_rtoDeadline != 0 && nowMs >= _rtoDeadline)
        {
            Retransmit(nowMs);
        }

        if (_persistDeadline != 0 && nowMs >= _persistDeadline)
        {
            // Linux's probe: an ACK one below SND.UNA makes the guest answer with its window.
            Emit(_sndUna - 1, _rcvNxt, TcpFlags.Ack, AdvertisedWindow(), default, default, default);
            _persistBackoffMs = Math.Min(_persistBackoffMs * 2, _settings.MaxRtoMs);
            _persistDeadline = nowMs + _persistBackoffMs;
        }
    }

    private void Retransmit(long nowMs)
    {
        _rtoDeadline = 0;
        if (++_retries > _settings.MaxRetransmissions)
        {
            Reset();
            return;
        }

        _rto = Math.Min(_rto * 2, _settings.MaxRtoMs);
        _rttActive = false;
        _dupAcks = 0;
        switch (State)
        {
            case TcpState.SynSent:
                _synSent = false;
                _sndNxt = _iss;
                break;
            case TcpState.SynReceived:
                _synSent = false;
                _synAckPending = true;
                _sndNxt = _iss;
                break;
            default:
                _sndNxt = _sndUna;
                if (_finSent && !_finAcked)
                {
                    _finSent = false;
                }

                break;
        }

        if (_sndMax == _sndUna && !(State is TcpState.SynSent or TcpState.SynReceived))
        {
            _retries = 0; // nothing was outstanding after all
        }
    }

    private void SampleRtt(uint ack, long nowMs)
    {
        if (!_rttActive || SeqNumber.Lt(ack, _rttSeq))
        {
            return;
        }

        _rttActive = false;
        var r = (int)Math.Clamp(nowMs - _rttStartMs, 0, int.MaxValue);
        if (_srttMs < 0)
        {
            _srttMs = r;
            _rttvarMs = r / 2;
        }
        else
        {
            _rttvarMs = ((3 * _rttvarMs) + Math.Abs(_srttMs - r)) / 4;
            _srttMs = ((7 * _srttMs) + r) / 8;
        }

        _rto = Math.Clamp(_srttMs + Math.Max(1, 4 * _rttvarMs), _settings.MinRtoMs, _settings.MaxRtoMs);
    }

    private void EnterTimeWait(long nowMs)
    {
        State = TcpState.TimeWait;
        _rtoDeadline = 0;
        _persistDeadline = 0;
        _timeWaitDeadline = nowMs + _settings.TimeWaitMs;
    }

    private static void Earliest(ref long next, long deadline)
    {
        if (deadline != 0 && deadline < next)
        {
            next = deadline;
        }
    }
}
