using Netdevd.Native;
using Netdevd.UserNet.Host;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// The user netdev's I/O thread for tests that count what it does: a plain poll loop on the
/// netdev's epoll descriptor that counts how often it found the descriptor ready (each is a
/// wake-up of the netdev's I/O thread by a host socket, a timer or queued work) and publishes,
/// after each callback, what this thread has allocated so far, so a test can count the data
/// path's allocations without the process-wide counter (which other test assemblies' load and
/// the runtime's own threads disturb).
/// </summary>
internal sealed class CountingIoThread : IHostIoThread
{
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;
    private long _wakeUps;
    private long _returns;
    private long _allocated;
    private int _disposed;

    /// <summary>Times the loop found the netdev's descriptor ready.</summary>
    public long WakeUps => Interlocked.Read(ref _wakeUps);

    /// <summary>Times the netdev's callback returned to the loop (a round that never ends holds the thread).</summary>
    public long Returns => Interlocked.Read(ref _returns);

    /// <summary>Bytes allocated on the I/O thread up to its last callback.</summary>
    public long Allocated => Volatile.Read(ref _allocated);

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
                    Interlocked.Increment(ref _returns);
                }

                Volatile.Write(ref _allocated, GC.GetAllocatedBytesForCurrentThread());
            }
        }) { IsBackground = true, Name = "counting user netdev I/O" };
        _thread.Start();
    }

    public void FollowCaller()
    {
        // Stays on its own thread: what it counts is that thread's work.
    }

    /// <summary>Stops the loop; the netdev disposes its I/O thread, and the test may again.</summary>
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
