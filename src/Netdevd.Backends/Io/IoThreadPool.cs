namespace Netdevd.Backends.Io;

/// <summary>
/// Where new <see cref="PollLoop"/>s run. With no shared threads (the default) each backend gets
/// a thread of its own, so a process whose netdevs are busy uses several cores; with N, backends
/// are spread over N shared threads, each new one onto the thread with the fewest (with one
/// thread, all backends of the process share it, as in QEMU's main loop: a frame and the answer
/// it provokes cross without waking another thread). Threads are created on first use and live
/// as long as the process.
/// </summary>
public sealed class IoThreadPool
{
    private readonly Lock _gate = new();
    private readonly IoThread[] _threads;
    private readonly string _namePrefix;

    /// <param name="sharedThreads">0: a thread per backend; N: backends share N threads.</param>
    /// <param name="namePrefix">Thread names: PREFIX0, PREFIX1, ...</param>
    public IoThreadPool(int sharedThreads, string namePrefix = "io")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sharedThreads);
        _threads = new IoThread[sharedThreads];
        _namePrefix = namePrefix;
    }

    /// <summary>The pool backends use when none is given; <see cref="Configure"/> sets it once at start-up.</summary>
    public static IoThreadPool Default { get; private set; } = new(0);

    /// <summary>Shared threads of this pool (0: a thread per backend).</summary>
    public int SharedThreads => _threads.Length;

    /// <summary>Sets the default pool for backends created from now on.</summary>
    public static void Configure(int sharedThreads) => Default = new IoThreadPool(sharedThreads);

    /// <summary>The shared thread a new loop joins, or null for a thread of its own.</summary>
    internal IoThread? Place()
    {
        if (_threads.Length == 0)
        {
            return null;
        }

        lock (_gate)
        {
            var best = -1;
            for (var i = 0; i < _threads.Length; i++)
            {
                if (_threads[i] is null)
                {
                    var thread = new IoThread($"{_namePrefix}{i}", IoThreadLifetime.Process);
                    thread.Start();
                    _threads[i] = thread;
                    return thread;
                }

                if (best < 0 || _threads[i].MemberCount < _threads[best].MemberCount)
                {
                    best = i;
                }
            }

            return _threads[best];
        }
    }
}
