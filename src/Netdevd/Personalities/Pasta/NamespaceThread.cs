using System.Runtime.ExceptionServices;
using Netdevd.Native;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// A long-lived thread that joined the pasta namespace and runs what must be done from inside it
/// (make a socket there, open its /proc/net tables), one call at a time, for callers on any
/// thread: auto's and -T/-U's listeners, the splice's sockets. setns changes the calling thread
/// only: the rest of the process stays out, as long as nothing run here starts a thread. Linux
/// gives a new thread the namespace of the thread that made it, so work run here makes sockets
/// and opens files, and never queues to the thread pool, starts a timer or an async operation
/// (any of which can make the runtime start a thread from here, a pool worker whose host sockets
/// would then be the namespace's).
/// </summary>
internal sealed class NamespaceThread : IDisposable
{
    private readonly Thread _thread;
    private readonly object _gate = new();
    private readonly Queue<Action> _work = new();
    private readonly int _netns;
    private string? _failure;
    private bool _entered;
    private bool _stopping;

    private NamespaceThread(int netns)
    {
        _netns = netns;
        _thread = new Thread(Run) { IsBackground = true, Name = "pasta netns ports" };
    }

    /// <summary>Joins the namespace at <paramref name="netnsPath"/>; throws <see cref="IOException"/> with why not.</summary>
    public static NamespaceThread Start(string netnsPath)
    {
        var fd = Libc.Open(netnsPath, Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"{netnsPath}: {Errno.Message(Errno.Last)}");
        }

        var thread = new NamespaceThread(fd);
        thread._thread.Start();
        lock (thread._gate)
        {
            while (!thread._entered && thread._failure is null)
            {
                Monitor.Wait(thread._gate);
            }
        }

        if (thread._failure is { } failure)
        {
            thread.Dispose();
            throw new IOException($"cannot enter {netnsPath}: {failure}");
        }

        return thread;
    }

    /// <summary>Runs <paramref name="work"/> in the namespace and returns its result; throws <see cref="ObjectDisposedException"/> once disposed.</summary>
    public T Invoke<T>(Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? thrown = null;
        var done = false;
        var queued = Post(() =>
        {
            try
            {
                result = work();
            }
#pragma warning disable CA1031 // handed back to the caller, who sees it as thrown by its own call
            catch (Exception e)
#pragma warning restore CA1031
            {
                thrown = ExceptionDispatchInfo.Capture(e);
            }

            lock (_gate)
            {
                done = true;
                Monitor.PulseAll(_gate);
            }
        });
        ObjectDisposedException.ThrowIf(!queued, this);
        lock (_gate)
        {
            while (!done)
            {
                Monitor.Wait(_gate);
            }
        }

        thrown?.Throw();
        return result;
    }

    /// <summary>
    /// Queues <paramref name="work"/> to run in the namespace without waiting for it; false once
    /// the thread is stopping (nothing queued). The work must not throw: nothing would see it.
    /// </summary>
    public bool Post(Action work)
    {
        lock (_gate)
        {
            if (_stopping || _failure is not null)
            {
                return false;
            }

            _work.Enqueue(work);
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    private void Run()
    {
        lock (_gate)
        {
            if (Libc.SetNs(_netns, Libc.CLONE_NEWNET) < 0)
            {
                _failure = Errno.Message(Errno.Last);
            }
            else
            {
                _entered = true;
            }

            Monitor.PulseAll(_gate);
            if (_failure is not null)
            {
                return;
            }
        }

        while (true)
        {
            Action work;
            lock (_gate)
            {
                while (_work.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_gate);
                }

                if (_work.Count == 0)
                {
                    return;
                }

                work = _work.Dequeue();
            }

            work();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        // Calls queued before the stop still run: their callers wait for them.
        if (_thread.IsAlive)
        {
            _thread.Join();
        }

        _ = Libc.Close(_netns);
    }
}
