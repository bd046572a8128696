using System.Collections.Concurrent;
using Netdevd.Native;

namespace Netdevd.Backends.Io;

/// <summary>
/// One thread that waits on one data descriptor (plus an eventfd to be woken) and calls its
/// target when the descriptor is ready. Each backend instance owns one: reads happen here,
/// frames go to the peer synchronously on this thread, and interest in POLLIN/POLLOUT is the
/// back-pressure switch (DESIGN.md: drain until EAGAIN, then wait once).
/// </summary>
internal sealed class PollLoop : IDisposable
{
    private readonly IPollTarget _target;
    private readonly Thread _thread;
    private readonly int _wakeFd;
    private readonly ConcurrentQueue<Action> _posted = new();
    private volatile int _fd = -1;
    private volatile bool _wantRead = true;
    private volatile bool _wantWrite;
    private volatile bool _stopping;

    public PollLoop(string name, IPollTarget target)
    {
        _target = target;
        _wakeFd = Libc.EventFd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        if (_wakeFd < 0)
        {
            throw new IOException($"eventfd: {Errno.Message(Errno.Last)}");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = name };
    }

    /// <summary>Whether the caller runs on this loop's thread.</summary>
    public bool IsLoopThread => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    public void Start() => _thread.Start();

    /// <summary>Sets the descriptor to watch (-1: none).</summary>
    public void Watch(int fd)
    {
        _fd = fd;
        Wake();
    }

    /// <summary>Turns reading on or off (off while the peer cannot take more).</summary>
    public void WantRead(bool on)
    {
        if (_wantRead != on)
        {
            _wantRead = on;
            Wake();
        }
    }

    /// <summary>Asks to be told when the descriptor is writable (after EAGAIN on a write).</summary>
    public void WantWrite(bool on)
    {
        if (_wantWrite != on)
        {
            _wantWrite = on;
            Wake();
        }
    }

    /// <summary>Runs <paramref name="action"/> on the loop thread.</summary>
    public void Post(Action action)
    {
        _posted.Enqueue(action);
        Wake();
    }

    public void Wake()
    {
        Span<byte> one = stackalloc byte[8];
        BitConverter.TryWriteBytes(one, 1UL);
        _ = Libc.Write(_wakeFd, one);
    }

    public void Dispose()
    {
        _stopping = true;
        Wake();
        if (_thread.IsAlive && !IsLoopThread)
        {
            _thread.Join();
        }

        Libc.Close(_wakeFd);
    }

    private void Run()
    {
        Span<PollFd> fds = stackalloc PollFd[2];
        Span<byte> drain = stackalloc byte[8];
        while (!_stopping)
        {
            while (_posted.TryDequeue(out var action))
            {
                action();
            }

            var fd = _fd;
            fds[0] = new PollFd { Fd = _wakeFd, Events = Libc.POLLIN };
            short events = 0;
            if (_wantRead)
            {
                events |= Libc.POLLIN;
            }

            if (_wantWrite)
            {
                events |= Libc.POLLOUT;
            }

            fds[1] = new PollFd { Fd = fd, Events = events };
            var n = Libc.Poll(fds[..(fd >= 0 ? 2 : 1)], -1);
            if (n < 0)
            {
                if (Errno.Last == Errno.EINTR)
                {
                    continue;
                }

                throw new IOException($"poll: {Errno.Message(Errno.Last)}");
            }

            if ((fds[0].Revents & Libc.POLLIN) != 0)
            {
                _ = Libc.Read(_wakeFd, drain);
            }

            if (_stopping || fd < 0 || fd != _fd)
            {
                continue;
            }

            var revents = fds[1].Revents;
            if ((revents & Libc.POLLOUT) != 0)
            {
                _target.OnWritable();
            }

            if ((revents & Libc.POLLIN) != 0)
            {
                _target.OnReadable();
            }
            else if ((revents & (Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL)) != 0)
            {
                _target.OnHangup();
            }
        }
    }
}
