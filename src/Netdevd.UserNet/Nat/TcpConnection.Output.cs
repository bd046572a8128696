using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>Sending to the guest: SYN/SYN-ACK, data within the guest's window, FIN, ACKs and window updates.</summary>
internal sealed partial class TcpConnection
{
    /// <summary>Sends whatever the state allows now. Cheap to call when there is nothing to send.</summary>
    public void Dispatch(long nowMs)
    {
        switch (State)
        {
            case TcpState.Closed:
                return;
            case TcpState.SynSent:
                if (!_synSent)
                {
                    Emit(_iss, 0, TcpFlags.Syn, (ushort)Math.Min(_receive.Free, 0xFFFF), SynOptions(offerScaling: true), default, default);
                    _synSent = true;
                    AfterSend(_iss + 1, nowMs, fresh: _sndMax == _iss);
                }

                return;
            case TcpState.SynReceived:
                if (_synAckPending)
                {
                    _synAckPending = false;
                    Emit(_iss, _rcvNxt, TcpFlags.Syn | TcpFlags.Ack, (ushort)Math.Min(_receive.Free, 0xFFFF), SynOptions(_windowScaling), default, default);
                    _synSent = true;
                    AfterSend(_iss + 1, nowMs, fresh: _sndMax == _iss);
                }

                return;
            case TcpState.TimeWait:
                if (_ackNow)
                {
                    SendAck();
                }

                return;
        }

        var sent = SendData(nowMs);
        sent |= SendFin(nowMs);
        if (_ackNow && !sent)
        {
            SendAck();
        }
    }

    private bool SendData(long nowMs)
    {
        var sent = false;
        var mss = SendMss;
        while (true)
        {
            var offset = SeqNumber.Diff(_sndNxt, _sndUna);
            var unsent = _send.Count - offset;
            if (unsent <= 0)
            {
                break;
            }

            var window = _sndWnd - offset;
            if (window <= 0)
            {
                if (offset == 0 && _persistDeadline == 0)
                {
                    // Zero window with nothing in flight: only a probe will tell us when it opens.
                    _persistBackoffMs = Math.Max(_rto, _settings.MinRtoMs);
                    _persistDeadline = nowMs + _persistBackoffMs;
                }

                break;
            }

            var length = Math.Min(Math.Min(unsent, window), mss);
            _send.PeekSegments(offset, length, out var first, out var second);
            var flags = TcpFlags.Ack;
            if (length == unsent)
            {
                flags |= TcpFlags.Psh;
            }

            var seq = _sndNxt;
            Emit(seq, _rcvNxt, flags, AdvertisedWindow(), default, first, second);
            AfterSend(seq + (uint)length, nowMs, fresh: SeqNumber.Ge(seq, _sndMax));
            sent = true;
        }

        return sent;
    }

    private bool SendFin(long nowMs)
    {
        if (!_hostEof || _finSent || SeqNumber.Diff(_sndNxt, _sndUna) != _send.Count)
        {
            return false;
        }

        switch (State)
        {
            case TcpState.Established:
                State = TcpState.FinWait1;
                break;
            case TcpState.CloseWait:
                State = TcpState.LastAck;
                break;
            case TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck:
                break; // retransmission of the FIN
            default:
                return false;
        }

        _finSeq = _sndNxt;
        _finSent = true;
        Emit(_finSeq, _rcvNxt, TcpFlags.Fin | TcpFlags.Ack, AdvertisedWindow(), default, default, default);
        AfterSend(_finSeq + 1, nowMs, fresh: SeqNumber.Ge(_finSeq, _sndMax));
        return true;
    }

    private void SendAck() => Emit(_sndNxt, _rcvNxt, TcpFlags.Ack, AdvertisedWindow(), default, default, default);

    private void Emit(uint seq, uint ack, TcpFlags flags, ushort window, in TcpOptions options, ArraySegment<byte> first, ArraySegment<byte> second)
    {
        if ((flags & TcpFlags.Ack) != 0)
        {
            _ackNow = false;
            _rcvAdvertisedEdge = _rcvNxt + (uint)((flags & TcpFlags.Syn) != 0 ? window : window << _rcvShift);
        }

        if (_output.Segment(this, seq, ack, flags, window, options, first, second))
        {
            _send.MarkLent();
        }
    }

    private void AfterSend(uint end, long nowMs, bool fresh)
    {
        _sndNxt = end;
        if (SeqNumber.Gt(end, _sndMax))
        {
            _sndMax = end;
        }

        if (fresh && !_rttActive)
        {
            // Karn's rule: time only segments sent for the first time.
            _rttActive = true;
            _rttSeq = end;
            _rttStartMs = nowMs;
        }

        if (_rtoDeadline == 0)
        {
            _rtoDeadline = nowMs + _rto;
        }
    }
}
