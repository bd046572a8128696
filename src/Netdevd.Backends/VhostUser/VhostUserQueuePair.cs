using Netdevd.Backends.Io;

namespace Netdevd.Backends.VhostUser;

/// <summary>
/// One queue pair's worker: an I/O thread (its own, or a shared one with --io-threads N) that
/// watches the receive and transmit kick eventfds. A transmit kick drains the guest's transmit
/// ring; a receive kick (asked for only when frames are waiting for buffers) flushes the frames
/// the netdev queued.
/// </summary>
internal sealed class VhostUserQueuePair : IDisposable
{
    private readonly VhostUserSession _session;
    private readonly IoThread _thread;
    private readonly bool _ownsThread;
    private readonly VhostUserKick _rxKick;
    private readonly VhostUserKick _txKick;
    private readonly Action _drain;
    private readonly Action _resume;
    private bool _disposed;

    public VhostUserQueuePair(VhostUserSession session, int pair, VhostUserVring rx, VhostUserVring tx, IoThreadPool pool)
    {
        _session = session;
        Receiver = new VhostUserReceiver(session, rx);
        Transmitter = new VhostUserTransmitter(session, tx);
        var shared = pool.Place();
        _ownsThread = shared is null;
        // A thread of its own ends with its last loop: a user netdev whose host side followed the
        // guest's frames onto it keeps it going after this session ends (see Dispose).
        _thread = shared ?? new IoThread($"vhost-user-{session.Client.Name}-q{pair}", IoThreadLifetime.LastMember);
        _rxKick = new VhostUserKick(rx, this);
        _txKick = new VhostUserKick(tx, this);
        _rxKick.Loop = new PollLoop(_rxKick, _thread, session.Client);
        _txKick.Loop = new PollLoop(_txKick, _thread, session.Client);
        _drain = Drain;
        _resume = Resume;
        _rxKick.Loop.Start();
        _txKick.Loop.Start();
        if (_ownsThread)
        {
            _thread.Start();
        }
    }

    public VhostUserReceiver Receiver { get; }

    public VhostUserTransmitter Transmitter { get; }

    /// <summary>Control thread: the vring's kick descriptor changed (or the ring started or stopped).</summary>
    public void Watch(VhostUserVring vring, int fd)
    {
        var kick = vring.IsReceive ? _rxKick : _txKick;
        kick.WatchedFd = fd;
        kick.Loop!.Watch(fd);
        if (fd >= 0 && !vring.IsReceive)
        {
            // Frames the guest queued before the ring was (re)started go out without a kick.
            _txKick.Loop!.Post(_drain);
        }
    }

    /// <summary>Any thread: the peer can take frames again.</summary>
    public void ResumeTransmit() => _txKick.Loop?.Post(_resume);

    /// <summary>Runs <paramref name="action"/> on this pair's worker.</summary>
    public void Post(Action action) => _txKick.Loop!.Post(action);

    /// <summary>Worker: a kick arrived for <paramref name="vring"/>.</summary>
    public void OnKick(VhostUserVring vring)
    {
        if (vring.IsReceive)
        {
            _session.Client.FlushReceived();
        }
        else
        {
            Drain();
        }
    }

    /// <summary>Refuses the front-end from this pair's thread (a kick descriptor that can never be waited on).</summary>
    public void RefuseFromDatapath(string reason) => _session.RefuseFromDatapath(reason);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;

        // The second loop to leave ends the thread (joined off it) unless another loop joined it;
        // either way no callback of this pair runs once both have left.
        _rxKick.Loop!.Dispose();
        _txKick.Loop!.Dispose();
    }

    private void Drain()
    {
        if (Transmitter.Drain())
        {
            // The budget ran out: give the thread's other descriptors a turn, then go on.
            _txKick.Loop!.Post(_drain);
        }
    }

    private void Resume()
    {
        if (Transmitter.Blocked)
        {
            Transmitter.Unblock();
            Drain();
        }
    }
}
