using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>Opening: passive (the guest's SYN) and active (a host forward), and the SYN-SENT input.</summary>
internal sealed partial class TcpConnection
{
    /// <summary>
    /// A guest SYN for a new connection: the connection waits in SYN-RECEIVED, silent, until
    /// <see cref="HostConnected"/> (then SYN-ACK) or <see cref="HostConnectFailed"/> (then RST).
    /// </summary>
    public static TcpConnection AcceptSyn(TcpSettings settings, ITcpOutput output, in TcpFlowAddress address,
        in TcpSegment syn, uint iss, long nowMs)
    {
        var c = new TcpConnection(settings, output, address)
        {
            State = TcpState.SynReceived,
            _iss = iss,
            _sndUna = iss,
            _sndNxt = iss,
            _sndMax = iss,
            _irs = syn.Sequence,
            _rcvNxt = syn.Sequence + 1,
        };
        c.TakeSynOptions(syn);
        c._sndWnd = syn.Window; // never scaled in a SYN (RFC 7323 2.2)
        c._sndWl1 = syn.Sequence;
        c._sndWl2 = iss;
        c._handshakeDeadline = nowMs + settings.HandshakeTimeoutMs;
        return c;
    }

    /// <summary>A host forward: open towards the guest with a SYN (sent by the next <see cref="Dispatch"/>).</summary>
    public static TcpConnection Connect(TcpSettings settings, ITcpOutput output, in TcpFlowAddress address, uint iss, long nowMs)
    {
        var c = new TcpConnection(settings, output, address)
        {
            State = TcpState.SynSent,
            OpenedByHost = true,
            LastActivityMs = nowMs,
            _iss = iss,
            _sndUna = iss,
            _sndNxt = iss,
            _sndMax = iss,
            _handshakeDeadline = nowMs + settings.HandshakeTimeoutMs,
        };
        return c;
    }

    /// <summary>The host socket connected: answer the guest's SYN.</summary>
    public void HostConnected()
    {
        if (State == TcpState.SynReceived && !_synSent)
        {
            _synAckPending = true;
        }
    }

    /// <summary>
    /// The host refused or could not be reached: reset the guest's connection attempt (unless
    /// <paramref name="reset"/> is false: the stack told the guest with an ICMP error instead).
    /// </summary>
    public void HostConnectFailed(bool reset = true)
    {
        if (reset && State == TcpState.SynReceived && !_synSent)
        {
            _output.Segment(this, 0, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack, 0, default, default, default);
        }

        State = TcpState.Closed;
    }

    /// <summary>The guest's initial sequence number (its SYN's), for quoting the SYN in an ICMP error.</summary>
    public uint GuestInitialSequence => _irs;

    /// <summary>Whether the guest's SYN is still unanswered (no SYN-ACK sent yet).</summary>
    public bool SynUnanswered => State == TcpState.SynReceived && !_synSent;

    private void TakeSynOptions(in TcpSegment syn)
    {
        var options = syn.Options;
        // No option (or 0): RFC 9293's default of 536 (IPv6: 1220, RFC 8200's minimum link MTU
        // less both headers). A tiny offer is raised to the floor.
        _guestMss = options.MaximumSegmentSize is { } mss and > 0 ? Math.Max((int)mss, _settings.MinSegmentSize) : Address.IsIpv4 ? 536 : 1220;
        if (options.WindowScale is { } scale)
        {
            _windowScaling = true;
            _sndShift = Math.Min((int)scale, TcpOptions.MaximumWindowScale);
        }
        else
        {
            // Without the guest's option neither side scales (RFC 7323 1.3).
            _windowScaling = false;
            _sndShift = 0;
            _rcvShift = 0;
        }
    }

    private TcpOptions SynOptions(bool offerScaling) => new()
    {
        MaximumSegmentSize = (ushort)Math.Min(_settings.AnnouncedMss - IpHeaderGrowth, 0xFFFF),
        WindowScale = offerScaling ? (byte)_rcvShift : null,
    };

    /// <summary>SYN-SENT: the guest's answer to our SYN (RFC 793 p. 66).</summary>
    private void OnSegmentSynSent(in TcpSegment seg, long nowMs)
    {
        if (seg.Ack && seg.Acknowledgment != _iss + 1)
        {
            if (!seg.Rst)
            {
                _output.Segment(this, seg.Acknowledgment, 0, TcpFlags.Rst, 0, default, default, default);
            }

            return;
        }

        if (seg.Rst)
        {
            if (seg.Ack)
            {
                ResetByGuest = true;
                State = TcpState.Closed;
            }

            return;
        }

        if (!seg.Syn)
        {
            return;
        }

        _irs = seg.Sequence;
        _rcvNxt = seg.Sequence + 1;
        TakeSynOptions(seg);
        _sndWnd = seg.Window;
        _sndWl1 = seg.Sequence;
        _sndWl2 = seg.Acknowledgment;
        if (seg.Ack)
        {
            SampleRtt(seg.Acknowledgment, nowMs);
            _sndUna = seg.Acknowledgment;
            _synAcked = true;
            _retries = 0;
            _rtoDeadline = 0;
            State = TcpState.Established;
            _ackNow = true;
        }
        else
        {
            // Simultaneous open: answer with SYN-ACK of our same ISS.
            State = TcpState.SynReceived;
            _synSent = false;
            _synAckPending = true;
            _sndNxt = _iss;
        }
    }
}
