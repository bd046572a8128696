using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// The host side's view: buffers to read into and write from, end of stream, resets. The host I/O
/// code asks these after every event (level-triggered), so it needs no state machine of its own.
/// </summary>
internal sealed partial class TcpConnection
{
    /// <summary>Whether bytes from the host are wanted now (the guest side is open for them).</summary>
    public bool WantsHostData => !_hostEof && _send.Free > 0 && State is TcpState.Established or TcpState.CloseWait;

    /// <summary>Where the host socket may receive into (the send ring's free space).</summary>
    public ArraySegment<byte> HostReadBuffer() => _send.WritableSegment();

    /// <summary>
    /// All the send ring's free space, in one or two regions (the ring may wrap): a vectored read
    /// into both takes what the host socket holds in one call, where a read up to the ring's end
    /// took a second call and cut a short segment for the guest at the wrap.
    /// </summary>
    public void HostReadBuffers(out ArraySegment<byte> first, out ArraySegment<byte> second) => _send.WritableSegments(out first, out second);

    /// <summary>The host socket received <paramref name="count"/> bytes into <see cref="HostReadBuffer"/> (or <see cref="HostReadBuffers"/>, in order); 0 means end of stream.</summary>
    public void HostReceived(int count)
    {
        if (count == 0)
        {
            _hostEof = true;
            return;
        }

        _send.Commit(count);
    }

    /// <summary>
    /// The next size of the send ring when the ring, not the guest, is what holds the flow back:
    /// the host filled it and the guest's window would take more than it holds; 0 otherwise
    /// (or at <see cref="TcpSettings.MaxSendBufferSize"/>).
    /// </summary>
    public int SendRingGrowth =>
        _send.Free == 0 && _sndWnd > _send.Capacity && _send.Capacity < _settings.MaxSendBufferSize
            ? Math.Min(_send.Capacity * 2, _settings.MaxSendBufferSize)
            : 0;

    /// <summary>Enlarges the send ring to <paramref name="capacity"/> (the stack reserved it in its budget).</summary>
    public void GrowSendRing(int capacity) => _send.Grow(capacity);

    /// <summary>Guest bytes waiting for the host socket (contiguous part).</summary>
    public ArraySegment<byte> HostWriteBuffer() => _receive.ReadableSegment();

    /// <summary>The host socket took <paramref name="count"/> bytes: the window opens again.</summary>
    public void HostWritten(int count)
    {
        var wasClosed = SeqNumber.Diff(_rcvAdvertisedEdge, _rcvNxt) < SendMss;
        _receive.Consume(count);
        var edge = _rcvNxt + (uint)((_receive.Free >> _rcvShift) << _rcvShift);
        var growth = SeqNumber.Diff(edge, _rcvAdvertisedEdge);

        // Receiver-side silly window avoidance (RFC 1122 4.2.3.3): announce a larger window only
        // when it grew by a full segment or half the buffer, or when the guest saw (almost) none.
        if (growth > 0 && (wasClosed || growth >= Math.Min(_receive.Capacity / 2, 4 * SendMss)))
        {
            _ackNow = true;
        }
    }

    /// <summary>The guest closed its direction and everything it sent is written: shut the host socket's send side.</summary>
    public bool WantsHostShutdown => _guestFin && _receive.Count == 0;

    /// <summary>Whether the host socket is done with: both directions finished or the connection is gone.</summary>
    public bool IsFinished => State == TcpState.Closed;

    /// <summary>The host socket failed or was reset: reset the guest's connection.</summary>
    public void HostReset()
    {
        if (State is TcpState.Closed or TcpState.TimeWait)
        {
            State = TcpState.Closed;
            return;
        }

        Reset();
    }

    /// <summary>Sends RST to the guest and closes (give-up, timeout, host reset, flow eviction).</summary>
    public void Reset()
    {
        if (State is TcpState.SynSent && !_synSent)
        {
            State = TcpState.Closed;
            return;
        }

        if (State != TcpState.Closed && State != TcpState.TimeWait && !(State == TcpState.SynReceived && !_synSent))
        {
            _output.Segment(this, _sndNxt, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack, 0, default, default, default);
        }
        else if (State == TcpState.SynReceived)
        {
            _output.Segment(this, 0, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack, 0, default, default, default);
        }

        State = TcpState.Closed;
    }
}
