using Netdevd.Backends.Dgram;
using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Vde;

/// <summary>
/// A port on a vde_switch (QEMU's VDEState): one datagram on the connected data socket is one
/// frame, no header. The control stream is held open for as long as the port lives: the switch
/// frees the port when it closes.
/// </summary>
/// <remarks>
/// Receiving drains the data socket with recvmmsg into a slab and hands each frame to the peer
/// synchronously; when the peer queues, reading pauses until <see cref="OnPeerReady"/>. Sending
/// is one send() per frame; EAGAIN answers Busy and waits for POLLOUT. (DatagramNetClient
/// does the same for dgram, but owns one descriptor only; a vde port needs two.)
/// </remarks>
public sealed class VdeNetClient : NetClient, IPollTarget
{
    /// <summary>Datagrams taken per recvmmsg call.</summary>
    public const int BatchSize = 64;

    private readonly PollLoop _loop;
    private readonly DatagramReceiveBatch _batch;
    private readonly Lock _fdLock = new();
    private readonly Action _resume;
    private readonly Action _updateReadInterest;
    private int _dataFd;
    private int _controlFd;

    private int _pendingIndex;
    private int _pendingCount;
    private bool _blocked;

    internal VdeNetClient(string name, VdeConnection connection, string? sock)
        : base(name, NetClientDriver.Vde)
    {
        _dataFd = connection.DataFd;
        _controlFd = connection.ControlFd;

        // QEMU prints the sock option as given, "(null)" when absent (glibc's printf of NULL).
        Info = $"sock={sock ?? "(null)"},fd={connection.DataFd}";
        _resume = Resume;
        _updateReadInterest = UpdateReadInterest;

        // vde_switch moves frames of at most 1522 bytes; QEMU's NET_BUFSIZE slots keep any
        // other libvdeplug peer's frames whole too, at the cost of address space only.
        _batch = new DatagramReceiveBatch(BatchSize, MaxFrameSize);
        _ = Libc.SetSockOptInt(_dataFd, Libc.SOL_SOCKET, Libc.SO_RXQ_OVFL, 1);
        _loop = new PollLoop($"vde:{name}", this);
        _loop.WantRead(false);
        _loop.Watch(_dataFd);
        _loop.Start();
    }

    public DatagramCounters Counters { get; } = new();

    /// <summary>The data socket (QEMU's vde_datafd); -1 once closed.</summary>
    public int DataFd => _dataFd;

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        if (frame.Length == 0)
        {
            Counters.DroppedEmptySend++;
            return ReceiveResult.Accepted;
        }

        nint n;
        int errno;
        lock (_fdLock)
        {
            if (_dataFd < 0)
            {
                return ReceiveResult.Accepted;
            }

            do
            {
                n = Libc.SendTo(_dataFd, frame, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL, null);
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
                // ECONNREFUSED once the switch is gone: QEMU drops such frames too.
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
            _ = Libc.Close(_dataFd);
            _ = Libc.Close(_controlFd);
            _dataFd = -1;
            _controlFd = -1;
        }

        if (!onLoop)
        {
            _batch.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    void IPollTarget.OnReadable()
    {
        if (_blocked || !DeliverPending())
        {
            return;
        }

        while (!IsClosed)
        {
            var n = _batch.Receive(_dataFd);
            if (n < 0)
            {
                var errno = Errno.Last;
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno != Errno.EAGAIN)
                {
                    Counters.ReceiveErrors++;
                }

                return;
            }

            Counters.KernelDropped = _batch.KernelDrops;
            _pendingIndex = 0;
            _pendingCount = n;
            if (!DeliverPending() || n < _batch.Capacity)
            {
                return;
            }
        }
    }

    void IPollTarget.OnWritable()
    {
        _loop.WantWrite(false);
        var before = Counters.Sent;
        if (!FlushQueue() && Counters.Sent == before)
        {
            // A unix datagram socket polls writable while the switch's queue is still full: do
            // not spin on it.
            Thread.Sleep(1);
        }
    }

    void IPollTarget.OnHangup()
    {
        if (Libc.GetSockOptInt(_dataFd, Libc.SOL_SOCKET, Libc.SO_ERROR, out var error) == 0 && error != 0)
        {
            Counters.ReceiveErrors++;
            return;
        }

        Thread.Sleep(1);
    }

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
                Counters.DroppedTruncated++;
                continue;
            }

            if (frame.Length == 0)
            {
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
        if (_blocked)
        {
            _blocked = false;
            if (!DeliverPending())
            {
                return;
            }
        }

        UpdateReadInterest();
    }

    private void UpdateReadInterest() => _loop.WantRead(!_blocked && !IsClosed && Peer is not null);
}
