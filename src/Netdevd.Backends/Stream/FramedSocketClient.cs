using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.Framing;
using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Core.Retry;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Stream;

/// <summary>
/// The engine shared by the <c>stream</c> netdev and the legacy <c>socket</c> netdev in its
/// TCP modes: one connection at a time carrying length-prefixed frames, optionally behind a
/// listener that is re-armed when the connection ends (QEMU serves one client at a time).
/// </summary>
/// <remarks>
/// <para>Threads: everything about the connection's life (accept, attach, read, drop) happens on
/// the <see cref="PollLoop"/> thread; other threads reach it only through <see cref="TryPost"/>.
/// <see cref="Receive"/> runs on the sender's thread and writes under <c>_io</c>, which is also
/// what the loop takes to swap or close the connected socket, so a write never meets a closed
/// (or recycled) descriptor. The loop never holds <c>_io</c> while it calls <see cref="NetClient.Send"/>,
/// so two of these clients sending to each other cannot deadlock.</para>
/// <para>Read path: one large read into the reassembler's pooled buffer, every whole frame in it
/// handed to the peer synchronously; when the peer queues one, reading stops until
/// <see cref="OnPeerReady"/> (QEMU disables the read handler the same way). The frames of one
/// drain form one batch (<see cref="NetClient.BeginSendBatch"/>), so the receivers can write them together.
/// A drain ends at EAGAIN or after <see cref="FrameBudget"/> frames, whichever comes first.</para>
/// <para>Write path: frames given inside a sender's batch are appended to the writer's buffer and
/// leave with one write(2) in <see cref="OnBatchEnd"/>; other frames are written at once.</para>
/// </remarks>
internal abstract class FramedSocketClient : NetClient, IPollTarget
{
    /// <summary>
    /// Frames one wakeup delivers at most before the loop goes back to its poll (NAPI's weights
    /// are of this order). A far end that writes faster than the peer takes frames never lets a
    /// read find EAGAIN: without a bound the loop never returned, and the other netdevs of its
    /// I/O thread (--io-threads) stopped moving frames, and work posted to the thread (a deleted
    /// netdev's close, waited for under the registry's gate) never ran. The poll is
    /// level-triggered, so a socket with more to read is reported again at once.
    /// </summary>
    private const int FrameBudget = 256;

    /// <summary>Reads one wakeup makes at most, for a far end whose reads bring no frame to count (empty or partial frames).</summary>
    private const int ReadBudget = 64;

    private readonly Lock _io = new();
    private readonly Lock _postGate = new();
    private readonly PollLoop _loop;
    private readonly FrameReassembler _reader = new();
    private readonly FrameWriter _writer = new();
    private readonly Action _resume;
    private readonly Action _retryAccept;

    /// <summary>Sockets posted to the loop thread and not yet taken there (under <c>_postGate</c>).</summary>
    private readonly List<Handover> _handovers = [];
    private ITimer? _acceptTimer;
    private RetryBackoff _acceptBackoff = RetryBackoff.ForAccept();
    private long _acceptFailures;
    private Socket? _conn;
    private int _connFd = -1;
    private bool _ioClosed;
    private Socket? _listener;
    private Socket? _connecting;
    private bool _paused;
    private bool _stopped;

    /// <param name="pool">The I/O threads to run on; <see cref="IoThreadPool.Default"/> if null.</param>
    protected FramedSocketClient(string name, NetClientDriver driver, ILogger logger, IoThreadPool? pool = null)
        : base(name, driver)
    {
        Logger = logger;
        _loop = new PollLoop($"{driver.ToQapi()}:{name}", this, pool);
        _resume = Resume;
        _retryAccept = RetryAccept;
    }

    /// <summary>Zero-length frames received and skipped.</summary>
    public long ZeroLengthFrames => _reader.ZeroLengthFrames;

    /// <summary>Frames lost to socket write errors.</summary>
    public long WriteFailures => _writer.Failed;

    /// <summary>Accepts that failed for want of descriptors or memory, each followed by a wait before the next try.</summary>
    public long AcceptFailures => Interlocked.Read(ref _acceptFailures);

    /// <summary>Whether a connection is up right now.</summary>
    public bool IsConnected => Volatile.Read(ref _connFd) >= 0;

    protected ILogger Logger { get; }

    /// <summary>
    /// What <see cref="Receive"/> answers while no connection is up and the link is nevertheless
    /// up: the legacy socket's connect mode queues frames until its connect completes.
    /// </summary>
    protected virtual ReceiveResult ReceiveWhileDisconnected => ReceiveResult.Accepted;

    protected void StartLoop() => _loop.Start();

    /// <summary>Runs <paramref name="action"/> on the loop thread; false once the client is closing.</summary>
    protected bool TryPost(Action action)
    {
        lock (_postGate)
        {
            if (_stopped)
            {
                return false;
            }

            _loop.Post(action);
            return true;
        }
    }

    /// <summary>
    /// Gives <paramref name="socket"/> to the client: <paramref name="adopt"/> runs on the loop
    /// thread and makes it the client's own. The loop drops the actions of a loop that has left, so
    /// a socket posted just before the netdev was deleted would never be adopted nor closed (a
    /// listener kept its port bound, a connection stayed open): if the client is closing, or closes
    /// before the loop takes it, the socket is closed and <paramref name="abandon"/> runs instead.
    /// </summary>
    protected void HandOver(Socket socket, Action adopt, Action? abandon = null) => HandOver(new Handover(socket, abandon, listener: false), adopt);

    /// <summary>
    /// <see cref="HandOver(Socket, Action, Action?)"/> for a listening socket, which, if abandoned,
    /// is closed as <see cref="Listeners.Close"/> does.
    /// </summary>
    protected void HandOverListener(Socket listener, Action adopt, Action? abandon = null) => HandOver(new Handover(listener, abandon, listener: true), adopt);

    private void HandOver(Handover handover, Action adopt)
    {
        lock (_postGate)
        {
            if (!_stopped)
            {
                _handovers.Add(handover);
                _loop.Post(() =>
                {
                    lock (_postGate)
                    {
                        if (!_handovers.Remove(handover))
                        {
                            return;
                        }
                    }

                    adopt();
                });
                return;
            }
        }

        handover.Abandon();
    }

    /// <summary>Loop thread: waits for clients on <paramref name="listener"/>.</summary>
    protected void Listen(Socket listener)
    {
        listener.Blocking = false;
        _listener = listener;
        WatchListener();
    }

    /// <summary>Loop thread: waits for a non-blocking connect to finish (POLLOUT).</summary>
    protected void BeginConnect(Socket socket)
    {
        _connecting = socket;
        _loop.WantRead(false);
        _loop.WantWrite(true);
        _loop.Watch(Fd(socket));
    }

    /// <summary>Loop thread: makes <paramref name="socket"/> the connection and starts reading it.</summary>
    protected void Attach(Socket socket, bool accepted)
    {
        socket.Blocking = false;
        lock (_io)
        {
            if (_ioClosed)
            {
                socket.Dispose();
                return;
            }

            _conn = socket;
            _writer.Reset();
            Volatile.Write(ref _connFd, Fd(socket));
        }

        _reader.Reset();
        _paused = false;
        _loop.WantWrite(false);
        _loop.WantRead(true);
        _loop.Watch(_connFd);
        OnConnected(socket, accepted);

        // Frames that waited for the connection (legacy connect mode) go out now.
        FlushQueue();
    }

    /// <summary>Loop thread, after attach: set info, link, events.</summary>
    protected abstract void OnConnected(Socket socket, bool accepted);

    /// <summary>Loop thread, after the connection was closed (EOF, error, oversize) or a connect failed.</summary>
    protected abstract void OnDisconnected();

    /// <summary>Releases what the subclass holds (timers, files). Runs after the loop thread stopped.</summary>
    protected virtual void OnClosed()
    {
    }

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        lock (_io)
        {
            if (_ioClosed)
            {
                return ReceiveResult.Accepted;
            }

            if (_connFd < 0)
            {
                return ReceiveWhileDisconnected;
            }

            // Inside a sender's batch the frame joins the held bytes and the whole batch leaves
            // in one write at OnBatchEnd; outside one it is written now (behind anything held).
            var outcome = InSendBatch ? _writer.Append(_connFd, frame) : _writer.Write(_connFd, frame);
            switch (outcome)
            {
                case WriteOutcome.Written:
                    return ReceiveResult.Accepted;
                case WriteOutcome.Partial:
                    _loop.WantWrite(true);
                    return ReceiveResult.Accepted;
                case WriteOutcome.Blocked:
                    _loop.WantWrite(true);
                    return ReceiveResult.Busy;
                default:
                    // QEMU drops a frame whose write failed; the read side will see the end.
                    return ReceiveResult.Accepted;
            }
        }
    }

    protected override void OnPeerReady() => TryPost(_resume);

    protected override void OnBatchEnd()
    {
        lock (_io)
        {
            if (_ioClosed || _connFd < 0 || !_writer.HasPending)
            {
                return;
            }

            // A remainder the socket would not take goes out on POLLOUT, as a partial write's does.
            if (_writer.FlushPending(_connFd) == WriteOutcome.Blocked)
            {
                _loop.WantWrite(true);
            }
        }
    }

    void IPollTarget.OnReadable()
    {
        if (_connecting is not null)
        {
            CompleteConnect();
        }
        else if (_connFd >= 0)
        {
            Pump();
        }
        else if (_listener is not null)
        {
            AcceptOne();
        }
    }

    void IPollTarget.OnWritable()
    {
        if (_connecting is not null)
        {
            CompleteConnect();
            return;
        }

        bool drained;
        lock (_io)
        {
            if (_connFd < 0)
            {
                _loop.WantWrite(false);
                return;
            }

            drained = _writer.FlushPending(_connFd) != WriteOutcome.Blocked;
            if (drained)
            {
                _loop.WantWrite(false);
            }
        }

        if (drained)
        {
            FlushQueue();
        }
    }

    void IPollTarget.OnHangup()
    {
        if (_connecting is not null)
        {
            CompleteConnect();
        }
        else if (_connFd >= 0)
        {
            if (_paused)
            {
                // Keep the frames already read for the peer; stop polling a dead socket
                // until the peer wants more, then the read finds the end.
                _loop.Watch(-1);
                return;
            }

            Pump();
        }
        else
        {
            _loop.Watch(-1);
        }
    }

    protected override ValueTask CloseAsync()
    {
        lock (_postGate)
        {
            _stopped = true;
            _acceptTimer?.Dispose();
        }

        lock (_io)
        {
            _ioClosed = true;
        }

        // Joins the loop thread: after this nothing reads the sockets any more.
        _loop.Dispose();
        lock (_io)
        {
            _conn?.Dispose();
            _conn = null;
            _connFd = -1;
            _writer.Dispose();
        }

        _connecting?.Dispose();
        if (_listener is not null)
        {
            Listeners.Close(_listener);
        }

        _reader.Dispose();

        // The loop is gone: what was handed to it and not taken is closed here.
        Handover[] orphans;
        lock (_postGate)
        {
            orphans = [.. _handovers];
            _handovers.Clear();
        }

        foreach (var orphan in orphans)
        {
            orphan.Abandon();
        }

        OnClosed();
        return ValueTask.CompletedTask;
    }

    private static int Fd(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();

    private void WatchListener()
    {
        _loop.WantWrite(false);
        _loop.WantRead(true);
        _loop.Watch(Fd(_listener!));
    }

    private void AcceptOne()
    {
        Socket accepted;
        try
        {
            accepted = _listener!.Accept();
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.Interrupted
            or SocketError.ConnectionAborted or SocketError.ConnectionReset)
        {
            // EAGAIN (another wakeup took it) or a client gone before it was taken: the poll
            // reports the next one.
            return;
        }
        catch (SocketException e)
        {
            // Descriptors or memory ran out (EMFILE, ENFILE, ENOBUFS, ENOMEM) with the client
            // still in the backlog: the poll is level-triggered and reported the listener again at
            // once, a core at 100% for as long as it lasted. Stop watching it and try again after
            // a wait, longer while failures go on; the client waits in the backlog meanwhile.
            Interlocked.Increment(ref _acceptFailures);
            if (!_acceptBackoff.Failing)
            {
                // Once per run of failures, not once per retry.
                Logger.LogWarning("netdev '{Netdev}': accepting a client failed ({Error}); trying again", Name, e.Message);
            }

            _loop.Watch(-1);
            ScheduleAcceptRetry(_acceptBackoff.Next());
            return;
        }

        _acceptBackoff.Reset();
        Attach(accepted, accepted: true);
    }

    /// <summary>Has <see cref="RetryAccept"/> run on the loop thread after <paramref name="delay"/> (one timer per client, made on first need).</summary>
    private void ScheduleAcceptRetry(TimeSpan delay)
    {
        lock (_postGate)
        {
            if (_stopped)
            {
                return;
            }

            _acceptTimer ??= TimeProvider.System.CreateTimer(static state => ((FramedSocketClient)state!).TryPost(((FramedSocketClient)state!)._retryAccept),
                this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _acceptTimer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Loop thread: watches the listener again after a failed accept's wait; the poll reports the clients that queued meanwhile.</summary>
    private void RetryAccept()
    {
        if (_listener is not null && _connFd < 0 && _connecting is null)
        {
            WatchListener();
        }
    }

    private void CompleteConnect()
    {
        var socket = _connecting!;
        _connecting = null;
        var error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        if (error == 0)
        {
            Attach(socket, accepted: false);
            return;
        }

        _loop.WantWrite(false);
        _loop.Watch(-1);
        socket.Dispose();
        OnDisconnected();
    }

    private void Resume()
    {
        if (!_paused || _connFd < 0)
        {
            return;
        }

        _paused = false;
        _loop.WantRead(true);
        _loop.Watch(_connFd);
        Pump();
    }

    /// <summary>Delivers buffered frames and reads until EAGAIN, the peer pushing back, the end, or the wakeup's budget.</summary>
    private void Pump()
    {
        // Every frame of this drain is one batch for the receivers: they write at its end.
        BeginSendBatch();
        try
        {
            PumpBatch();
        }
        finally
        {
            SendBatchEnd();
        }
    }

    private void PumpBatch()
    {
        var fd = _connFd;
        var frames = 0;
        var reads = 0;
        while (true)
        {
            while (true)
            {
                var status = _reader.TryTake(out var frame);
                if (status == FrameStatus.NeedMore)
                {
                    break;
                }

                if (status == FrameStatus.Oversize)
                {
                    Logger.LogError("serious error: oversized packet received,connection terminated.");
                    Drop();
                    return;
                }

                frames++;
                if (Send(frame) == DeliveryResult.Queued)
                {
                    _paused = true;
                    _loop.WantRead(false);
                    return;
                }
            }

            // Every whole frame read so far is delivered: stopping here leaves at most a partial
            // one, which a read at the socket's next readiness completes. A closing client reads
            // no more (its frames would be dropped) so that its close is not held up either.
            if (frames >= FrameBudget || reads >= ReadBudget || IsClosed)
            {
                return;
            }

            var n = Libc.Read(fd, _reader.GetReadSpace());
            if (n > 0)
            {
                reads++;
                _reader.Commit((int)n);
                continue;
            }

            if (n < 0)
            {
                var errno = Errno.Last;
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno == Errno.EAGAIN)
                {
                    return;
                }
            }

            Drop();
            return;
        }
    }

    /// <summary>Ends the connection: close, forget partial data, re-arm the listener, tell the subclass.</summary>
    private void Drop()
    {
        Socket? conn;
        lock (_io)
        {
            conn = _conn;
            _conn = null;
            Volatile.Write(ref _connFd, -1);
            _writer.Reset();
        }

        _loop.WantWrite(false);
        _loop.Watch(-1);
        conn?.Dispose();
        _reader.Reset();
        _paused = false;
        if (_listener is not null)
        {
            WatchListener();
        }

        OnDisconnected();
    }

    /// <summary>A socket on its way to the loop thread, and what else to undo should it never arrive.</summary>
    /// <remarks>A class, not a record: the pending list finds and removes it by identity.</remarks>
    private sealed class Handover(Socket socket, Action? abandon, bool listener)
    {
        /// <summary>The loop will never take the socket: closes it and undoes the rest.</summary>
        public void Abandon()
        {
            if (listener)
            {
                Listeners.Close(socket);
            }
            else
            {
                socket.Dispose();
            }

            abandon?.Invoke();
        }
    }
}
