using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Core.Retry;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Dgram;

/// <summary>
/// A netdev over one datagram socket, one frame per datagram: what dgram, the legacy socket
/// netdev's udp/mcast/datagram fd, vde's data socket (<see cref="DatagramNetClient"/>) and l2tpv3
/// (<see cref="L2tpv3.L2tpv3NetClient"/>) share. It owns the socket, its place on an I/O thread,
/// the receive drain, the send batching, back-pressure, error conditions, counters and close; a
/// subclass supplies only what goes around a frame on the wire.
/// </summary>
/// <remarks>
/// <para>Receiving: the poll thread drains the socket with recvmmsg into a slab of
/// <see cref="BatchSize"/> slots and hands each frame to the peer synchronously, the frames of one
/// drain as one batch. When the peer queues one (it is slow) reading stops, the rest of the batch
/// waits in the slab, and <see cref="OnPeerReady"/> resumes it. Reading is off while there is no
/// peer: datagrams wait in the socket buffer. A wakeup takes at most <see cref="DrainBudget"/>
/// batches, so a flooding far end cannot hold the I/O thread. Datagrams come from any source, as in QEMU.</para>
/// <para>Sending: <see cref="Receive"/> writes the frame at once (sendto, or a two-piece sendmsg
/// behind a header); inside a sender's batch it copies the frame into a sendmmsg batch instead,
/// which leaves with one system call at the batch's end or when full. EAGAIN answers Busy and asks
/// for POLLOUT. Oversized frames (EMSGSIZE) and other refusals are dropped and counted, never thrown.</para>
/// <para>Errors: a pending socket error (ICMP unreachable on a connected socket, or entries of
/// the error queue when IP_RECVERR is on) is read and counted, and reading goes on. A condition that
/// reading does not clear (a socket shut down under us reports POLLHUP for good) takes the socket
/// out of the poll set for a while (10 ms, doubling up to 1 s) rather than spinning or sleeping on
/// the I/O thread, which other netdevs may share. QEMU calls its read handler again and again there.</para>
/// <para>The link is always up and no events are emitted, as in QEMU.</para>
/// </remarks>
public abstract class DatagramSocketClient : NetClient, IPollTarget
{
    /// <summary>Datagrams taken per recvmmsg call (QEMU's MAX_L2TPV3_MSGCNT).</summary>
    public const int BatchSize = 64;

    /// <summary>
    /// Full recvmmsg batches one wakeup takes at most (256 datagrams) before the loop goes back to
    /// its poll. A far end that sends faster than the peer takes frames keeps every batch full:
    /// without a bound the drain never ended, the other netdevs of its I/O thread (--io-threads)
    /// stopped moving frames and work posted to the thread (a deleted netdev's close, waited for
    /// under the registry's gate) never ran. The poll is level-triggered: the rest is reported at once.
    /// </summary>
    private const int DrainBudget = 4;

    /// <summary>The socket receive buffer asked for (the kernel doubles it for bookkeeping and caps it at rmem_max).</summary>
    private const int ReceiveBufferBytes = 2 * 1024 * 1024;

    private static readonly TimeSpan WriteRetry = TimeSpan.FromMilliseconds(1);

    private readonly PollLoop _loop;
    private readonly DatagramReceiveBatch _batch;
    private readonly DatagramSender _sender;
    private readonly bool _hasErrorQueue;
    private readonly Lock _postGate = new();
    private readonly Action _resume;
    private readonly Action _updateReadInterest;
    private readonly Action _endPause;
    private readonly Action _retryWrite;
    private bool _loopClosed;
    private ITimer? _pauseTimer;
    private ITimer? _writeTimer;

    // Poll-thread state: the part of the last batch not yet handed to the peer, and the pause.
    private int _pendingIndex;
    private int _pendingCount;
    private bool _blocked;
    private RetryBackoff _pause = new(TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1));
    private bool _socketErrorLogged;
    private bool _pauseLogged;

    /// <summary>
    /// Takes ownership of <paramref name="fd"/>, a non-blocking datagram socket already bound (or
    /// connected). The subclass calls <see cref="StartPolling"/> once it is fully built.
    /// </summary>
    /// <param name="destination">Where frames go (sendto); null to send on a connected socket.</param>
    private protected DatagramSocketClient(
        string name,
        NetClientDriver driver,
        int fd,
        SockAddr? destination,
        DatagramCounters counters,
        ILogger? logger,
        IoThreadPool? pool)
        : base(name, driver)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        ArgumentNullException.ThrowIfNull(counters);
        Counters = counters;
        Logger = logger ?? NullLogger.Instance;
        _resume = Resume;
        _updateReadInterest = UpdateReadInterest;
        _endPause = EndPause;
        _retryWrite = RetryWrite;

        // Only IP sockets have an error queue: on others recvmsg(MSG_ERRQUEUE) would take a datagram.
        _hasErrorQueue = Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_DOMAIN, out var domain) == 0
            && domain is Libc.AF_INET or Libc.AF_INET6;

        // Slots as large as QEMU's receive buffer (NET_BUFSIZE): any datagram that fits a frame,
        // and any IP datagram, fits a slot.
        _batch = new DatagramReceiveBatch(BatchSize, MaxFrameSize);
        _sender = new DatagramSender(fd, destination, BatchSize, counters, _retryWrite);

        // Let the kernel tell us how many datagrams it dropped on this socket, so counts add up.
        _ = Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_RXQ_OVFL, 1);

        // Room for a burst: a peer hands over a 64 KiB super-frame's segments (or several 64 KiB
        // frames) at once, and the default buffer (about three 64 KiB datagrams) drops them,
        // which TCP inside the tunnel pays for dearly. Best effort: the kernel caps it at
        // rmem_max; a larger buffer someone set on an fd= socket is kept.
        if (Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, out var current) == 0 && current < ReceiveBufferBytes)
        {
            _ = Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, ReceiveBufferBytes);
        }

        _loop = new PollLoop($"{driver.ToString().ToLowerInvariant()}:{name}", this, pool);
    }

    /// <summary>What the socket side counted (frames sent and received, refusals, drops, errors).</summary>
    public DatagramCounters Counters { get; }

    /// <summary>The descriptor (for tests and info); -1 once closed.</summary>
    public int Fd => _sender.Fd;

    private protected ILogger Logger { get; }

    /// <summary>
    /// The header that goes in front of the next frame sent (empty: none). Called from
    /// <see cref="Receive"/>, under this client's lock; the span must stay valid until the next call.
    /// </summary>
    private protected virtual ReadOnlySpan<byte> NextHeader() => default;

    /// <summary>The frame behind the last <see cref="NextHeader"/> was taken (sent, held for the batch, or refused and dropped); not after Busy.</summary>
    private protected virtual void HeaderUsed()
    {
    }

    /// <summary>
    /// The frame a received datagram carries, or false to drop the datagram (the subclass counts
    /// and reports why). Called on the poll thread. Default: the datagram is the frame.
    /// </summary>
    private protected virtual bool TryDecapsulate(ReadOnlySpan<byte> datagram, out ReadOnlySpan<byte> frame)
    {
        frame = datagram;
        return true;
    }

    /// <summary>The socket was closed: release what had to live exactly as long.</summary>
    private protected virtual void OnSocketClosed()
    {
    }

    /// <summary>Puts the socket on its I/O thread; the last thing a subclass constructor does.</summary>
    private protected void StartPolling()
    {
        // Read only while a peer can take frames: until then datagrams wait in the socket buffer
        // rather than being read and dropped (QEMU reads and drops; nothing relies on that).
        _loop.WantRead(false);
        _loop.Watch(Fd);
        _loop.Start();
    }

    protected sealed override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        if (frame.Length == 0)
        {
            // A zero-length datagram makes a QEMU peer stop reading for good; never send one.
            Counters.DroppedEmptySend++;
            return ReceiveResult.Accepted;
        }

        var result = _sender.Send(NextHeader(), frame, InSendBatch);
        if (result == ReceiveResult.Accepted)
        {
            HeaderUsed();
        }

        return result;
    }

    protected sealed override void OnBatchEnd() => _ = _sender.Flush();

    protected sealed override void OnPeerReady() => TryPost(_resume);

    protected sealed override void OnPeerChanged() => TryPost(_updateReadInterest);

    protected sealed override ValueTask CloseAsync()
    {
        lock (_postGate)
        {
            // No timer or waking peer posts to the loop from here on: it is about to go.
            _loopClosed = true;
            _pauseTimer?.Dispose();
            _writeTimer?.Dispose();
        }

        var onLoop = _loop.IsLoopThread;
        _loop.Dispose();
        _sender.Dispose();
        OnSocketClosed();

        // On the poll thread itself (a handler closed us mid-delivery) the slab is still in use:
        // its 4 MB are left to the process rather than freed under the running loop.
        if (!onLoop)
        {
            _batch.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    void IPollTarget.OnReadable()
    {
        bool readSomething;

        // The frames of this drain are one batch for the receivers (a tap merges them, a stream
        // writes them with one call).
        BeginSendBatch();
        try
        {
            if (_blocked || !DeliverPending())
            {
                return;
            }

            readSomething = Drain();
        }
        finally
        {
            SendBatchEnd();
        }

        if (readSomething)
        {
            _pause.Reset();
        }
        else
        {
            // Readable with nothing to read: POLLIN may come with a hang-up (a socket shut down
            // reports both for good) or a pending error; left alone, the poll would spin here.
            OnErrorCondition();
        }
    }

    void IPollTarget.OnWritable()
    {
        _loop.WantWrite(false);
        var before = Counters.Sent;
        if ((!_sender.Flush() || !FlushQueue()) && Counters.Sent == before)
        {
            // An unconnected AF_UNIX datagram socket polls writable even while the receiver's
            // queue is full, so POLLOUT would spin here: look again in a moment, without
            // holding the I/O thread meanwhile.
            _loop.WantWrite(false);
            Schedule(ref _writeTimer, _retryWrite, WriteRetry);
        }
    }

    void IPollTarget.OnHangup() => OnErrorCondition();

    /// <summary>
    /// recvmmsg batches until the socket is drained, the peer pushes back or the wakeup's
    /// <see cref="DrainBudget"/> is spent; false when neither a datagram nor an error was there.
    /// </summary>
    private bool Drain()
    {
        var readSomething = false;
        for (var batches = 0; batches < DrainBudget && !IsClosed; batches++)
        {
            var n = _batch.Receive(Fd);
            if (n < 0)
            {
                var errno = Errno.Last;
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno != Errno.EAGAIN)
                {
                    // A pending error (ICMP on a connected socket) comes back here first and is cleared by it.
                    Counters.ReceiveErrors++;
                    readSomething = true;
                }

                break;
            }

            readSomething = true;
            _pendingIndex = 0;
            _pendingCount = n;

            // A short batch (with MSG_DONTWAIT) means the socket is drained.
            if (!DeliverPending() || n < _batch.Capacity)
            {
                break;
            }
        }

        Counters.KernelDropped = _batch.KernelDrops;
        return readSomething;
    }

    /// <summary>Hands the rest of the last batch to the peer; false when the peer pushed back.</summary>
    private bool DeliverPending()
    {
        while (_pendingIndex < _pendingCount)
        {
            if (IsClosed)
            {
                return false;
            }

            var datagram = _batch.Get(_pendingIndex++, out var truncated);
            if (truncated)
            {
                // QEMU would pass the first bytes on; a cut frame is garbage, so drop it.
                Counters.DroppedTruncated++;
                continue;
            }

            if (!TryDecapsulate(datagram, out var frame))
            {
                continue;
            }

            if (frame.Length == 0)
            {
                // QEMU treats this as end of connection and stops reading the socket for good,
                // so anyone on the network could silence it with one empty datagram. We drop it
                // and keep reading.
                Counters.DroppedEmpty++;
                continue;
            }

            Counters.Received++;
            if (Send(frame) == DeliveryResult.Queued)
            {
                _blocked = true;
                _loop.WantRead(false);
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Poll thread: the socket reported an error or hang-up (or was readable with nothing to
    /// read). Reads what is pending; if nothing is, the condition will not clear by reading, so
    /// the socket leaves the poll set for a while instead of being polled in a tight loop.
    /// </summary>
    private void OnErrorCondition()
    {
        var condition = DatagramSocketErrors.Condition(Fd);
        if (condition == 0)
        {
            return;
        }

        var error = DatagramSocketErrors.TakePending(Fd, _hasErrorQueue, BatchSize, out var taken);
        if (taken > 0)
        {
            Counters.SocketErrors += taken;
            if (!_socketErrorLogged && Logger.IsEnabled(LogLevel.Debug))
            {
                // Routine while a peer is down (ICMP port unreachable); said once, counted always.
                _socketErrorLogged = true;
                Logger.LogDebug("netdev {Name}: socket error: {Error}", Name, Errno.Message(error));
            }

            return;
        }

        Counters.ErrorPauses++;
        var pause = _pause.Next();
        if (!_pauseLogged && Logger.IsEnabled(LogLevel.Warning))
        {
            _pauseLogged = true;
            Logger.LogWarning(
                "netdev {Name}: the socket keeps reporting {Condition} with nothing to read; polling it only after pauses (up to 1 s) until that clears",
                Name,
                DatagramSocketErrors.Describe(condition));
        }

        _loop.Watch(-1);
        Schedule(ref _pauseTimer, _endPause, pause);
    }

    private void RetryWrite() => _loop.WantWrite(true);

    private void EndPause()
    {
        var fd = Fd;
        if (!IsClosed && fd >= 0)
        {
            _loop.Watch(fd);
        }
    }

    /// <summary>Runs <paramref name="action"/> on the poll thread after <paramref name="delay"/>, without blocking anyone meanwhile.</summary>
    private void Schedule(ref ITimer? timer, Action action, TimeSpan delay)
    {
        lock (_postGate)
        {
            if (_loopClosed)
            {
                return;
            }

            // Made once per client, on first need; re-armed from then on.
            timer ??= TimeProvider.System.CreateTimer(state => TryPost((Action)state!), action, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            timer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Posts to the poll thread unless the loop is closing (a late wake-up or timer must not touch it then).</summary>
    private void TryPost(Action action)
    {
        lock (_postGate)
        {
            if (!_loopClosed)
            {
                _loop.Post(action);
            }
        }
    }

    private void Resume()
    {
        if (_blocked)
        {
            _blocked = false;
            BeginSendBatch();
            try
            {
                if (!DeliverPending())
                {
                    return;
                }
            }
            finally
            {
                SendBatchEnd();
            }
        }

        UpdateReadInterest();
    }

    private void UpdateReadInterest() => _loop.WantRead(!_blocked && !IsClosed && Peer is not null);
}
