using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Dgram;

/// <summary>
/// A netdev over a datagram socket, one frame per datagram, no header (QEMU's NetDgramState and
/// the datagram half of NetSocketState). Used by <c>dgram</c> for every mode and by the legacy
/// <c>socket</c> netdev for <c>mcast=</c>, <c>udp=</c> and datagram <c>fd=</c>.
/// </summary>
/// <remarks>
/// <para>Receiving: a poll thread drains the socket with recvmmsg into a slab of
/// <see cref="BatchSize"/> slots and hands each datagram to the peer synchronously. When the peer
/// queues one (it is slow) reading stops, the rest of the batch waits in the slab, and
/// <see cref="OnPeerReady"/> resumes it. Datagrams come from any source, as in QEMU.</para>
/// <para>Sending: <see cref="Receive"/> writes the frame at once with sendto (send on a connected
/// descriptor); inside a sender's batch it copies the frame into a sendmmsg batch instead, which
/// leaves with one system call at the batch's end (<see cref="OnBatchEnd"/>) or when full. The
/// datagrams are the same either way. EAGAIN answers Busy and asks for POLLOUT, and the queue is
/// flushed when writable. The frames of one recvmmsg are likewise one batch for our peer.
/// Oversized frames (EMSGSIZE) and other refusals are dropped and counted, never thrown.</para>
/// <para>The link is always up and no events are emitted, as in QEMU.</para>
/// </remarks>
public sealed class DatagramNetClient : NetClient, IPollTarget, IDatagramBatchReceiver
{
    /// <summary>Datagrams taken per recvmmsg call.</summary>
    public const int BatchSize = 64;

    private readonly PollLoop _loop;
    /// <summary>Bytes of frames a send batch holds: a 64 KiB super-frame's segments several times over.</summary>
    private const int SendBatchBytes = 256 * 1024;

    /// <summary>Frames at least this long are sent with their own call rather than copied into the batch.</summary>
    private const int DirectSendSize = 16 * 1024;

    /// <summary>The socket receive buffer asked for (the kernel doubles it for bookkeeping and caps it at rmem_max).</summary>
    private const int ReceiveBufferBytes = 2 * 1024 * 1024;

    private readonly DatagramReceiveBatch _batch;
    private readonly DatagramSendBatch _sendBatch;
    private readonly SockAddr? _destination;
    private readonly Lock _fdLock = new();
    private readonly ILogger _logger;
    private readonly Action _resume;
    private readonly Action _updateReadInterest;
    private int _fd;
    private int _companionFd;

    // Poll-thread state: the part of the last batch not yet handed to the peer.
    private int _pendingIndex;
    private int _pendingCount;
    private bool _blocked;
    private bool _hangupLogged;

    /// <summary>
    /// Takes ownership of <paramref name="fd"/>, a non-blocking datagram socket already bound (or
    /// connected) as the mode wants, and starts polling it once a peer is attached.
    /// </summary>
    /// <param name="name">The netdev id.</param>
    /// <param name="driver">Dgram or Socket.</param>
    /// <param name="fd">The socket; closed when the client is disposed.</param>
    /// <param name="destination">Where frames go (sendto); null to send() on a connected socket.</param>
    /// <param name="info">QEMU's info_str for this mode.</param>
    /// <param name="logger">For rare socket conditions; none if null.</param>
    /// <param name="companionFd">
    /// A descriptor that must live as long as this one and is closed with it, e.g. a vde port's
    /// control stream (the switch frees the port when it closes); -1 for none.
    /// </param>
    public DatagramNetClient(string name, NetClientDriver driver, int fd, SockAddr? destination, string info, ILogger? logger = null, int companionFd = -1)
        : base(name, driver)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        _fd = fd;
        _companionFd = companionFd;
        _destination = destination;
        _logger = logger ?? NullLogger.Instance;
        Info = info ?? "";
        _resume = Resume;
        _updateReadInterest = UpdateReadInterest;

        // Slots as large as QEMU's receive buffer (NET_BUFSIZE): any datagram that fits a frame fits a slot.
        _batch = new DatagramReceiveBatch(BatchSize, MaxFrameSize);
        _sendBatch = new DatagramSendBatch(SendBatchBytes, BatchSize, destination);

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

        _loop = new PollLoop($"dgram:{name}", this);

        // Read only while a peer can take frames: until then datagrams wait in the socket buffer
        // rather than being read and dropped (QEMU reads and drops; nothing relies on that).
        _loop.WantRead(false);
        _loop.Watch(fd);
        _loop.Start();
    }

    public DatagramCounters Counters { get; } = new();

    /// <summary>The descriptor (for tests and info); -1 once closed.</summary>
    public int Fd => _fd;

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        if (frame.Length == 0)
        {
            // A zero-length datagram makes a QEMU peer stop reading for good; never send one.
            Counters.DroppedEmptySend++;
            return ReceiveResult.Accepted;
        }

        nint n;
        int errno;
        lock (_fdLock)
        {
            if (_fd < 0)
            {
                return ReceiveResult.Accepted;
            }

            // A large frame is sent at once (behind what is held): copying it would cost more than the call it saves.
            if (InSendBatch && frame.Length < DirectSendSize)
            {
                if (_sendBatch.TryAppend(frame))
                {
                    return ReceiveResult.Accepted;
                }

                if (!FlushSendBatch())
                {
                    return ReceiveResult.Busy;
                }

                if (_sendBatch.TryAppend(frame))
                {
                    return ReceiveResult.Accepted;
                }
            }
            else if (!FlushSendBatch())
            {
                // Held datagrams go first, so frames stay in order.
                return ReceiveResult.Busy;
            }

            do
            {
                // MSG_DONTWAIT too: an fd= descriptor shares its file status flags with whoever
                // passed it, who may turn O_NONBLOCK off again.
                n = Libc.SendTo(_fd, frame, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL, _destination);
                errno = n < 0 ? Errno.Last : 0;
            }
            while (n < 0 && errno == Errno.EINTR);
        }

        if (n >= 0)
        {
            Counters.Sent++;
            return ReceiveResult.Accepted;
        }

        switch (errno)
        {
            case Errno.EAGAIN or Errno.ENOBUFS:
                _loop.WantWrite(true);
                return ReceiveResult.Busy;
            case Errno.EMSGSIZE:
                Counters.DroppedOversize++;
                return ReceiveResult.Accepted;
            default:
                Counters.SendErrors++;
                return ReceiveResult.Accepted;
        }
    }

    protected override void OnPeerReady()
    {
        // A peer may still wake us after we closed; the loop (and its eventfd) is gone then.
        if (!IsClosed)
        {
            _loop.Post(_resume);
        }
    }

    protected override void OnBatchEnd()
    {
        lock (_fdLock)
        {
            _ = FlushSendBatch();
        }
    }

    protected override void OnPeerChanged()
    {
        if (!IsClosed)
        {
            _loop.Post(_updateReadInterest);
        }
    }

    protected override ValueTask CloseAsync()
    {
        var onLoop = _loop.IsLoopThread;
        _loop.Dispose();
        lock (_fdLock)
        {
            _ = Libc.Close(_fd);
            _fd = -1;
            if (_companionFd >= 0)
            {
                _ = Libc.Close(_companionFd);
                _companionFd = -1;
            }

            _sendBatch.Dispose();
        }

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
        // The datagrams of this drain are one batch for the receivers.
        BeginSendBatch();
        try
        {
            ReadBatches();
        }
        finally
        {
            SendBatchEnd();
        }
    }

    private void ReadBatches()
    {
        if (_blocked || !DeliverPending())
        {
            return;
        }

        DatagramDrain.Run(this, _fd, _batch);
        Counters.KernelDropped = _batch.KernelDrops;
    }

    bool IDatagramBatchReceiver.DeliverBatch(int count)
    {
        _pendingIndex = 0;
        _pendingCount = count;
        return DeliverPending();
    }

    void IDatagramBatchReceiver.OnReceiveError() => Counters.ReceiveErrors++;

    void IPollTarget.OnWritable()
    {
        _loop.WantWrite(false);
        var before = Counters.Sent;
        bool flushed;
        lock (_fdLock)
        {
            flushed = FlushSendBatch();
        }

        if ((!flushed || !FlushQueue()) && Counters.Sent == before)
        {
            // An unconnected AF_UNIX datagram socket polls writable even while the receiver's
            // queue is full, so POLLOUT would spin here; wait a little instead.
            Thread.Sleep(1);
        }
    }

    void IPollTarget.OnHangup()
    {
        // POLLERR without data: a pending socket error (ICMP unreachable on a connected socket).
        // Reading SO_ERROR clears it; if nothing was pending the condition will not clear, so
        // stop polling rather than spin.
        if (Libc.GetSockOptInt(_fd, Libc.SOL_SOCKET, Libc.SO_ERROR, out var error) == 0 && error != 0)
        {
            Counters.ReceiveErrors++;
            return;
        }

        if (!_hangupLogged)
        {
            _hangupLogged = true;
            _logger.LogWarning("netdev {Name}: datagram socket hung up; no longer reading", Name);
        }

        _blocked = true;
        _loop.WantRead(false);
    }

    /// <summary>
    /// Sends the held batch with sendmmsg. Under <c>_fdLock</c>. False when the socket pushed back
    /// (POLLOUT is requested; the rest stays held); refused datagrams are dropped and counted as
    /// sendto's would be.
    /// </summary>
    private bool FlushSendBatch()
    {
        while (!_sendBatch.IsEmpty && _fd >= 0)
        {
            var n = _sendBatch.Send(_fd, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL);
            if (n > 0)
            {
                Counters.Sent += n;
                continue;
            }

            switch (Errno.Last)
            {
                case Errno.EINTR:
                    continue;
                case Errno.EAGAIN or Errno.ENOBUFS:
                    _loop.WantWrite(true);
                    return false;
                case Errno.EMSGSIZE:
                    Counters.DroppedOversize++;
                    break;
                default:
                    Counters.SendErrors++;
                    break;
            }

            _sendBatch.DropFirst();
        }

        return true;
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

            var frame = _batch.Get(_pendingIndex++, out var truncated);
            if (truncated)
            {
                // QEMU would pass the first 69632 bytes on; a cut frame is garbage, so drop it.
                Counters.DroppedTruncated++;
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

    private void Resume()
    {
        if (_blocked && !_hangupLogged)
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
