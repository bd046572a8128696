using Netdevd.Backends.Dgram;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.L2tpv3;

/// <summary>
/// An L2TPv3 pseudowire endpoint (QEMU's NetL2TPV3State): every frame travels in one datagram
/// behind an L2TPv3 data header, over UDP or straight over IP (protocol 115).
/// </summary>
/// <remarks>
/// <para>Receiving: a poll thread drains the socket with recvmmsg into a slab of
/// <see cref="BatchSize"/> 64 KiB slots, checks each header (cookie, then session, as QEMU)
/// and hands the frame behind it to the peer synchronously, without copying. Mismatches are
/// dropped, counted and logged once per netdev (QEMU's texts). When the peer queues a frame
/// reading stops and the rest of the batch waits in the slab until <see cref="OnPeerReady"/>.
/// Datagrams from any source are taken, as in QEMU.</para>
/// <para>Sending: <see cref="Receive"/> sends the header and the frame as one datagram with a
/// two-piece sendmsg (no copy); EAGAIN/ENOBUFS answer Busy and wait for POLLOUT, as QEMU.</para>
/// </remarks>
public sealed class L2tpv3NetClient : NetClient, IPollTarget, IDatagramBatchReceiver
{
    /// <summary>Datagrams taken per recvmmsg call (QEMU's MAX_L2TPV3_MSGCNT).</summary>
    public const int BatchSize = 64;

    /// <summary>
    /// One receive slot: any IP datagram fits (65535 bytes), so frames up to what the datagram
    /// carries arrive whole; QEMU reads into 16 KiB and cuts larger frames.
    /// </summary>
    private const int SlotSize = 65536;

    private readonly PollLoop _loop;
    private readonly DatagramReceiveBatch _batch;
    private readonly L2tpv3Layout _layout;
    private readonly SockAddr _destination;
    private readonly byte[] _header;
    private readonly uint _rxSession;
    private readonly ulong _rxCookie;
    private readonly Lock _fdLock = new();
    private readonly ILogger _logger;
    private readonly Action _resume;
    private readonly Action _updateReadInterest;
    private int _fd;
    private uint _counter;

    // Poll-thread state.
    private int _pendingIndex;
    private int _pendingCount;
    private bool _blocked;
    private bool _mismatchLogged;

    internal L2tpv3NetClient(string name, L2tpv3Config config, int fd, SockAddr destination, ILogger? logger)
        : base(name, NetClientDriver.L2tpv3)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        _fd = fd;
        _layout = config.Layout;
        _destination = destination;
        _rxSession = config.RxSession;
        _rxCookie = config.RxCookie;
        _header = new byte[_layout.HeaderLength];
        _layout.WriteTemplate(_header, config.TxSession, config.TxCookie);
        _logger = logger ?? NullLogger.Instance;
        _resume = Resume;
        _updateReadInterest = UpdateReadInterest;
        Info = "l2tpv3: connected";
        _batch = new DatagramReceiveBatch(BatchSize, SlotSize);
        _loop = new PollLoop($"l2tpv3:{name}", this);

        // Read only while a peer can take frames: until then datagrams wait in the socket buffer.
        _loop.WantRead(false);
        _loop.Watch(fd);
        _loop.Start();
    }

    public L2tpv3Counters Counters { get; } = new();

    /// <summary>Bytes of L2TPv3 header (plus offset padding) in front of each frame sent.</summary>
    public int HeaderLength => _layout.HeaderLength;

    /// <summary>The descriptor (for tests); -1 once closed.</summary>
    public int Fd => _fd;

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        // Under this client's lock: the header buffer and the counter are ours alone here.
        // QEMU pre-increments the counter per frame, so the first frame carries 1.
        var counter = _counter + 1;
        _layout.WriteCounter(_header, counter);
        nint n;
        int errno;
        lock (_fdLock)
        {
            if (_fd < 0)
            {
                return ReceiveResult.Accepted;
            }

            do
            {
                n = Libc.SendGather(_fd, _header, frame, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL, _destination);
                errno = n < 0 ? Errno.Last : 0;
            }
            while (n < 0 && errno == Errno.EINTR);
        }

        if (n >= 0)
        {
            _counter = counter;
            Counters.Sent++;
            return ReceiveResult.Accepted;
        }

        switch (errno)
        {
            case Errno.EAGAIN or Errno.ENOBUFS:
                // The frame is retried from the queue with the same counter value.
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
        if (!IsClosed)
        {
            _loop.Post(_resume);
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
        }

        // On the poll thread itself the slab is still in use; leave it to the process then.
        if (!onLoop)
        {
            _batch.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    void IPollTarget.OnReadable()
    {
        // The frames of this drain are one batch for the receivers (a tap merges them, a stream
        // writes them with one call), as the dgram and stream readers do.
        BeginSendBatch();
        try
        {
            if (_blocked || !DeliverPending())
            {
                return;
            }

            DatagramDrain.Run(this, _fd, _batch);
            Counters.KernelDropped = _batch.KernelDrops;
        }
        finally
        {
            SendBatchEnd();
        }
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
        FlushQueue();
    }

    void IPollTarget.OnHangup()
    {
        // An unbound-peer datagram or raw socket has no hang-up: POLLERR means a pending socket
        // error (ICMP), which reading SO_ERROR clears. If none was pending, pause briefly
        // rather than spin on a condition that will not clear.
        if (Libc.GetSockOptInt(_fd, Libc.SOL_SOCKET, Libc.SO_ERROR, out var error) == 0 && error != 0)
        {
            Counters.ReceiveErrors++;
            return;
        }

        Thread.Sleep(1);
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
                Counters.DroppedTruncated++;
                continue;
            }

            if (_layout.HasIpHeader)
            {
                var ipHeader = L2tpv3Layout.Ipv4HeaderLength(datagram);
                if (ipHeader < 0)
                {
                    Reject(L2tpv3Verdict.Short);
                    continue;
                }

                datagram = datagram[ipHeader..];
            }

            var verdict = _layout.Check(datagram, _rxSession, _rxCookie);
            if (verdict != L2tpv3Verdict.Accepted)
            {
                Reject(verdict);
                continue;
            }

            Counters.Received++;
            if (Send(datagram[_layout.HeaderLength..]) == DeliveryResult.Queued)
            {
                _blocked = true;
                _loop.WantRead(false);
                return false;
            }
        }

        return true;
    }

    private void Reject(L2tpv3Verdict verdict)
    {
        switch (verdict)
        {
            case L2tpv3Verdict.CookieMismatch:
                Counters.CookieMismatches++;
                break;
            case L2tpv3Verdict.SessionMismatch:
                Counters.SessionMismatches++;
                break;
            default:
                Counters.DroppedShort++;
                break;
        }

        // QEMU reports the first bad datagram only (DoS avoidance), with these texts.
        if (_mismatchLogged)
        {
            return;
        }

        _mismatchLogged = true;
        if (verdict == L2tpv3Verdict.CookieMismatch)
        {
            _logger.LogWarning("netdev {Name}: unknown cookie id", Name);
        }
        else if (verdict == L2tpv3Verdict.SessionMismatch)
        {
            _logger.LogWarning("netdev {Name}: session mismatch", Name);
        }

        _logger.LogWarning("netdev {Name}: l2tpv3 header verification failed", Name);
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
