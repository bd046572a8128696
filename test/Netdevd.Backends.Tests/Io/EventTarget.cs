using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// A poll target on an eventfd: readable after <see cref="Signal"/>, drained by the callback,
/// which then runs <c>onReadable</c>; its loop belongs to <c>owner</c> when one is given (the netdev a fault is counted on).
/// </summary>
internal sealed class EventTarget : IPollTarget, IDisposable
{
    private int _fd;
    private readonly Action? _onReadable;
    private readonly Action<HotObjects>? _onCollect;
    private int _calls;

    /// <param name="onCollect">What the target records as its path's objects (see <see cref="IPollTarget.CollectHot"/>).</param>
    public EventTarget(IoThreadPool pool, NetClient? owner = null, Action? onReadable = null, Action<HotObjects>? onCollect = null)
    {
        _fd = Libc.EventFd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        Assert.True(_fd >= 0);
        _onReadable = onReadable;
        _onCollect = onCollect;
        Loop = new PollLoop("iot-test", this, pool, owner);
        Loop.Watch(_fd);
        Loop.Start();
    }

    /// <summary>A target whose loop joins <paramref name="thread"/> (started: whether it could), under <paramref name="name"/> when given.</summary>
    public EventTarget(IoThread thread, out bool started, string? name = null)
    {
        _fd = Libc.EventFd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        Assert.True(_fd >= 0);
        Loop = new PollLoop(this, thread, owner: null, name);
        Loop.Watch(_fd);
        started = Loop.TryStart();
    }

    public PollLoop Loop { get; }

    public ManualResetEventSlim Called { get; } = new();

    public int ThreadId { get; private set; }

    public int Calls => Volatile.Read(ref _calls);

    public void Signal()
    {
        Span<byte> one = stackalloc byte[8];
        BitConverter.TryWriteBytes(one, 1UL);
        Assert.Equal(8, Libc.Write(_fd, one));
    }

    public void OnReadable()
    {
        Span<byte> drain = stackalloc byte[8];
        _ = Libc.Read(_fd, drain);
        ThreadId = Environment.CurrentManagedThreadId;
        Interlocked.Increment(ref _calls);
        Called.Set();
        _onReadable?.Invoke();
    }

    public void OnWritable()
    {
    }

    public void CollectHot(HotObjects hot) => _onCollect?.Invoke(hot);

    public void OnHangup()
    {
    }

    /// <summary>
    /// Closes the eventfd once: a second close would take whatever the number names by then (in
    /// a run of parallel tests another test's socket, which then fails with EBADF).
    /// </summary>
    public void Dispose()
    {
        Loop.Dispose();
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = Libc.Close(fd);
        }

        Called.Dispose();
    }
}
