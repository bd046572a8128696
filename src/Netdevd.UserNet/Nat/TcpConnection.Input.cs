using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>Segments from the guest in the synchronized states (RFC 793 "SEGMENT ARRIVES", RFC 5961 checks).</summary>
internal sealed partial class TcpConnection
{
    /// <summary>Processes one guest segment; call <see cref="Dispatch"/> afterwards to send what it caused.</summary>
    public void OnSegment(in TcpSegment seg, long nowMs)
    {
        switch (State)
        {
            case TcpState.Closed:
                return;
            case TcpState.SynSent:
                OnSegmentSynSent(seg, nowMs);
                return;
            case TcpState.SynReceived when !_synSent:
                // Still connecting on the host side: the guest's retransmitted SYN gets its answer
                // when the connect finishes.
                return;
        }

        if (seg.Syn && State == TcpState.SynReceived && seg.Sequence == _irs)
        {
            // Our SYN-ACK was lost: send it again.
            _synAckPending = true;
            _sndNxt = _iss;
            return;
        }

        if (!IsAcceptable(seg))
        {
            if (!seg.Rst)
            {
                _ackNow = true;
            }

            return;
        }

        if (seg.Rst)
        {
            // RFC 5961 3.2: only an exact match resets; others get a challenge ACK.
            if (seg.Sequence == _rcvNxt)
            {
                ResetByGuest = true;
                State = TcpState.Closed;
            }
            else
            {
                _ackNow = true;
            }

            return;
        }

        if (seg.Syn)
        {
            _ackNow = true; // RFC 5961 4.2 challenge ACK
            return;
        }

        if (!seg.Ack)
        {
            return;
        }

        if (!ProcessAck(seg, nowMs))
        {
            return;
        }

        if (State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            TakeData(seg);
        }

        if (seg.Fin)
        {
            TakeFin(seg, nowMs);
        }
    }

    private bool IsAcceptable(in TcpSegment seg)
    {
        var window = _receive.Free;
        var offset = SeqNumber.Diff(seg.Sequence, _rcvNxt);
        var length = seg.Length;
        if (length == 0)
        {
            return window == 0 ? offset == 0 : offset >= 0 && offset < window;
        }

        if (window == 0)
        {
            // A zero-window probe or a retransmission: not acceptable, but we still look at its
            // ACK when it is the exact next sequence (so a FIN at the window edge is not lost).
            return offset == 0 && seg.Payload.Length == 0;
        }

        var lastOffset = offset + length - 1;
        return (offset >= 0 && offset < window) || (lastOffset >= 0 && lastOffset < window);
    }

    /// <summary>RFC 793 ACK processing; false when the segment must not be processed further.</summary>
    private bool ProcessAck(in TcpSegment seg, long nowMs)
    {
        var ack = seg.Acknowledgment;
        if (State == TcpState.SynReceived)
        {
            if (SeqNumber.Gt(ack, _sndUna) && SeqNumber.Le(ack, _sndMax))
            {
                State = TcpState.Established;
                _handshakeDeadline = 0;
            }
            else
            {
                _output.Segment(this, ack, 0, TcpFlags.Rst, 0, default, default, default);
                return false;
            }
        }

        if (SeqNumber.Gt(ack, _sndMax))
        {
            _ackNow = true; // acknowledges something we never sent
            return false;
        }

        var windowChanged = false;
        if (SeqNumber.Gt(ack, _sndUna))
        {
            SampleRtt(ack, nowMs);
            var acked = SeqNumber.Diff(ack, _sndUna);
            if (!_synAcked)
            {
                _synAcked = true;
                acked--;
            }

            // Past every byte of data only our FIN lies (the send ring holds all data until it is
            // acknowledged). Not "&& _finSent": a retransmission (RTO or fast) takes the FIN back
            // until the data before it fits the window again, while the guest may have had it and
            // acknowledge it; the FIN was then sent again one past itself and never acknowledged.
            var data = Math.Min(acked, _send.Count);
            _send.Consume(data);
            if (acked - data > 0)
            {
                _finAcked = true;
            }

            _sndUna = ack;
            if (SeqNumber.Lt(_sndNxt, _sndUna))
            {
                _sndNxt = _sndUna;
            }

            _retries = 0;
            _dupAcks = 0;
            _rtoDeadline = _sndMax != _sndUna ? nowMs + _rto : 0;
        }
        else if (ack == _sndUna && seg.Payload.Length == 0 && !seg.Fin && _sndMax != _sndUna
            && (seg.Window << _sndShift) == _sndWnd)
        {
            if (++_dupAcks == 3)
            {
                // Fast retransmit (RFC 5681): resend from the first unacknowledged byte.
                _sndNxt = _sndUna;
                _rttActive = false;
                if (_finSent && !_finAcked)
                {
                    _finSent = false;
                }
            }
        }

        if (SeqNumber.Lt(_sndWl1, seg.Sequence) || (_sndWl1 == seg.Sequence && SeqNumber.Le(_sndWl2, ack)))
        {
            var window = seg.Window << _sndShift;
            windowChanged = window != _sndWnd;
            _sndWnd = window;
            _sndWl1 = seg.Sequence;
            _sndWl2 = ack;
        }

        if (windowChanged && _sndWnd > 0)
        {
            _persistDeadline = 0;
            _persistBackoffMs = 0;
        }

        if (_finAcked)
        {
            switch (State)
            {
                case TcpState.FinWait1:
                    State = TcpState.FinWait2;
                    break;
                case TcpState.Closing:
                    EnterTimeWait(nowMs);
                    break;
                case TcpState.LastAck:
                    State = TcpState.Closed;
                    return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Segments from this size on are offered to the host socket at once (a guest's TSO segment,
    /// or any at a large MTU). Smaller ones go to the ring, where the segments of one batch of the
    /// guest's frames leave in one write after the pass: a write per 1448-byte segment cost a
    /// guest without TSO more than half its rate (9.5 to 3.8 Gbit/s at MTU 1500), where saving
    /// the copy of a 64 KiB segment pays for its own write.
    /// </summary>
    private const int DirectWriteMinimum = 32 * 1024;

    private void TakeData(in TcpSegment seg)
    {
        var payload = seg.Payload;
        if (payload.IsEmpty)
        {
            return;
        }

        var offset = SeqNumber.Diff(seg.Sequence, _rcvNxt);
        if (offset < 0)
        {
            if (-offset >= payload.Length)
            {
                _ackNow = true; // a pure retransmission: re-acknowledge
                return;
            }

            payload = payload[-offset..];
            offset = 0;
        }

        var room = _receive.Free - offset;
        if (room <= 0)
        {
            _ackNow = true;
            return;
        }

        if (payload.Length > room)
        {
            payload = payload[..room];
        }

        if (offset == 0 && _assembler.IsEmpty)
        {
            // With nothing older waiting, a large segment goes to the host socket straight from
            // the guest's frame: one copy (the kernel's), where the ring took it first and the
            // socket took it from there after the pass. The ring gets what the socket does not take.
            var sent = payload.Length >= DirectWriteMinimum && _receive.Count == 0 && HostState is { } host ? host.SendNow(payload) : 0;
            _rcvNxt += (uint)(sent + _receive.Write(payload[sent..]));
        }
        else
        {
            _receive.WriteAt(offset, payload);
            if (!_assembler.Add(offset, offset + payload.Length) && offset == 0)
            {
                // In-order bytes that reach none of the assembler's full set of ranges: refusing
                // them (as a ninth out-of-order range is refused) left the hole before those ranges
                // open for good, and the guest's retransmissions of them were refused each time.
                // Take them and forget the out-of-order ranges instead; the guest sends those again.
                _assembler.Clear();
                _assembler.Add(0, payload.Length);
            }

            var n = _assembler.TakeContiguous();
            _receive.Commit(n);
            _rcvNxt += (uint)n;
        }

        _ackNow = true;
    }

    private void TakeFin(in TcpSegment seg, long nowMs)
    {
        var finSeq = seg.Sequence + (uint)seg.Payload.Length;
        if (_guestFin)
        {
            if (finSeq + 1 == _rcvNxt)
            {
                _ackNow = true; // retransmitted FIN: our ACK was lost
                if (State == TcpState.TimeWait)
                {
                    _timeWaitDeadline = nowMs + _settings.TimeWaitMs;
                }
            }

            return;
        }

        if (finSeq != _rcvNxt)
        {
            return; // data before it is missing; the guest will send the FIN again
        }

        _rcvNxt++;
        _guestFin = true;
        _ackNow = true;
        switch (State)
        {
            case TcpState.Established:
                State = TcpState.CloseWait;
                break;
            case TcpState.FinWait1:
                if (_finAcked)
                {
                    EnterTimeWait(nowMs);
                }
                else
                {
                    State = TcpState.Closing;
                }

                break;
            case TcpState.FinWait2:
                EnterTimeWait(nowMs);
                break;
        }
    }
}
