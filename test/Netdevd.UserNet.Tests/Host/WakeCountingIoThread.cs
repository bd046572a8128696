using Netdevd.Native;
using Netdevd.UserNet.Host;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// The user netdev's I/O thread for a wake-up test: a plain poll loop on the netdev's epoll
/// descriptor that counts how often it found the descriptor ready (each is a wake-up of the
/// netdev's I/O thread by a host socket, a timer or queued work).
/// </summary>
internal sealed class WakeCountingIoThread : IHostIoThread
{
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;
    private long _wakeUps;
    private int _disposed;

    public long WakeUps => Interlocked.Read(ref _wakeUps);

    public void Start(int fd, Action ready)
    {
        _thread = new Thread(() =>
        {
            Span<PollFd> poll = [new PollFd { Fd = fd, Events = Libc.POLLIN }];
            while (!_stop.IsCancellationRequested)
            {
                poll[0].Revents = 0;
                if (Libc.Poll(poll, 50) > 0)
                {
                    Interlocked.Increment(ref _wakeUps);
                    ready();
                }
            }
        }) { IsBackground = true, Name = "wake-counting user netdev I/O" };
        _thread.Start();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Cancel();
        _thread?.Join();
        _stop.Dispose();
    }
}
