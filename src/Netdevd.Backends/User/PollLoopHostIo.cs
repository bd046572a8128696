using Netdevd.Backends.Io;
using Netdevd.UserNet.Host;

namespace Netdevd.Backends.User;

/// <summary>A user netdev's host I/O on a <see cref="PollLoop"/>: its epoll descriptor is the loop's one descriptor.</summary>
internal sealed class PollLoopHostIo(string name, IoThreadPool? pool = null) : IHostIoThread, IPollTarget
{
    private PollLoop? _loop;
    private Action? _ready;

    public void Start(int fd, Action ready)
    {
        _ready = ready;
        _loop = new PollLoop(name, this, pool);
        _loop.Watch(fd);
        _loop.Start();
    }

    public void OnReadable() => _ready?.Invoke();

    public void OnWritable()
    {
        // Only read interest is asked for.
    }

    public void OnHangup()
    {
        // An epoll descriptor does not hang up.
    }

    public void Dispose() => _loop?.Dispose();
}
