using Netdevd.Native;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// One spliced connection: the host client's socket (side 0) and the namespace's (side 1), both
/// non-blocking, and a pipe per direction that splice(2) fills from one socket and empties into
/// the other. Driven by <see cref="SpliceRelay"/> from edge-triggered epoll reports: each side's
/// readiness is kept here until a splice says EAGAIN. Only the relay's thread touches it.
/// </summary>
internal sealed class SplicedConnection
{
    private const uint Flags = Libc.SPLICE_F_MOVE | Libc.SPLICE_F_NONBLOCK;

    /// <summary>
    /// Rounds of splices (in, then out) one direction makes per report before the relay serves
    /// the others. With both peers faster than the relay no splice ever says EAGAIN: without a
    /// bound one bulk connection kept the relay's one thread, every other spliced connection
    /// stalled, and stopping the relay (its join) waited as long as the transfer lasted.
    /// </summary>
    private const int RoundBudget = 64;

    private readonly int[] _socket;
    private readonly Direction[] _direction;
    private readonly bool[] _readable = new bool[2];
    private readonly bool[] _writable = new bool[2];

    public SplicedConnection(int host, int inner, SplicePipe toInner, SplicePipe toHost)
    {
        _socket = [host, inner];
        _direction = [new Direction(toInner), new Direction(toHost)];
    }

    /// <summary>The relay's slot for this connection (its epoll tokens are derived from it).</summary>
    public int Slot { get; set; }

    /// <summary>Both sockets and pipes are closed: the relay forgets the connection.</summary>
    public bool Closed { get; private set; }

    /// <summary>The last report stopped at <see cref="RoundBudget"/> with data still moving: the relay calls <see cref="Resume"/> after serving the others.</summary>
    public bool MoreToMove { get; private set; }

    /// <summary>Whether the relay holds the connection in its list to resume (the relay's to change).</summary>
    internal bool HeldBack { get; set; }

    /// <summary>Goes on moving data after a report that ran out of budget (no new readiness: what was kept still holds).</summary>
    public void Resume() => OnEvents(0, 0);

    public int Socket(int side) => _socket[side];

    /// <summary>
    /// An epoll report for <paramref name="side"/>: records what became possible, then moves
    /// whatever can move in both directions. A socket error resets both peers.
    /// </summary>
    public void OnEvents(int side, uint events)
    {
        if (Closed)
        {
            return;
        }

        if ((events & Libc.EPOLLERR) != 0)
        {
            // A reset (or another error) on one side: the other peer learns it as a reset too.
            Reset();
            return;
        }

        if ((events & (Libc.EPOLLIN | Libc.EPOLLRDHUP | Libc.EPOLLHUP)) != 0)
        {
            _readable[side] = true;
        }

        if ((events & (Libc.EPOLLOUT | Libc.EPOLLHUP)) != 0)
        {
            _writable[side] = true;
        }

        MoreToMove = false;
        if (!Pump(0) || !Pump(1))
        {
            Reset();
            return;
        }

        if (_direction[0].FinSent && _direction[1].FinSent)
        {
            // Both ends said all they had and each heard the other's FIN: an ordinary close.
            Close(abortive: false);
        }
    }

    /// <summary>
    /// Moves <paramref name="from"/>'s data towards the other side until neither the read nor the
    /// write can progress; passes the FIN on once the end was read and the pipe is drained. False
    /// on a socket error (the caller resets the connection).
    /// </summary>
    private bool Pump(int from)
    {
        var to = 1 - from;
        var d = _direction[from];
        var progressed = true;
        for (var rounds = 0; progressed; rounds++)
        {
            if (rounds == RoundBudget)
            {
                // Readiness is kept in the flags: Resume goes on from here.
                MoreToMove = true;
                break;
            }

            progressed = false;
            if (d.Pending > 0 && _writable[to])
            {
                var n = Libc.Splice(d.Pipe.Read, _socket[to], (nuint)d.Pending, Flags);
                if (n > 0)
                {
                    d.Pending -= n;
                    d.PipeFull = false;
                    progressed = true;
                }
                else if (n < 0 && Errno.Last is var errno && errno != Errno.EINTR)
                {
                    if (errno != Errno.EAGAIN)
                    {
                        return false;
                    }

                    // The pipe holds data, so EAGAIN is the socket's: EPOLLOUT says when it has room.
                    _writable[to] = false;
                }
            }

            if (!d.Eof && _readable[from] && !d.PipeFull)
            {
                var n = Libc.Splice(_socket[from], d.Pipe.Write, (nuint)d.Pipe.Size, Flags);
                if (n > 0)
                {
                    d.Pending += n;
                    progressed = true;
                }
                else if (n == 0)
                {
                    d.Eof = true;
                    progressed = true;
                }
                else if (Errno.Last is var errno && errno != Errno.EINTR)
                {
                    if (errno != Errno.EAGAIN)
                    {
                        return false;
                    }

                    if (d.Pending == 0)
                    {
                        // An empty pipe: the socket has nothing. Its next data is a new report.
                        _readable[from] = false;
                    }
                    else
                    {
                        // The pipe's slots may be all taken by fewer bytes than its size: read
                        // again once the write side took some, and keep the readiness till then.
                        d.PipeFull = true;
                    }
                }
            }
        }

        if (d.Eof && d.Pending == 0 && !d.FinSent)
        {
            // Half-close: the FIN goes on, the other direction stays open.
            _ = Libc.Shutdown(_socket[to], Libc.SHUT_WR);
            d.FinSent = true;
        }

        return true;
    }

    /// <summary>Ends the connection with a reset on both sides (a peer's reset, an error, or teardown).</summary>
    public void Reset() => Close(abortive: true);

    /// <summary>Closes the pipes alone, for a connection never handed over (its sockets stay the caller's).</summary>
    public void ClosePipes()
    {
        foreach (var d in _direction)
        {
            d.Pipe.Dispose();
        }
    }

    private void Close(bool abortive)
    {
        if (Closed)
        {
            return;
        }

        Closed = true;
        foreach (var fd in _socket)
        {
            if (abortive)
            {
                _ = Libc.SetAbortiveClose(fd);
            }

            Libc.Close(fd);
        }

        foreach (var d in _direction)
        {
            d.Pipe.Dispose();
        }
    }

    /// <summary>One direction's pipe and where its stream stands.</summary>
    private sealed class Direction(SplicePipe pipe)
    {
        public SplicePipe Pipe { get; } = pipe;

        /// <summary>Bytes read into the pipe and not yet written out of it.</summary>
        public nint Pending { get; set; }

        /// <summary>The last read found no room in the pipe (while it held data).</summary>
        public bool PipeFull { get; set; }

        /// <summary>The source socket's end of stream was read.</summary>
        public bool Eof { get; set; }

        /// <summary>The end was passed on: the destination's sending side is shut.</summary>
        public bool FinSent { get; set; }
    }
}
