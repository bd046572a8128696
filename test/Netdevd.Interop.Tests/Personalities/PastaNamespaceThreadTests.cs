using System.Diagnostics.Tracing;
using System.Globalization;
using Netdevd.Interop.Tests.Tap;
using Netdevd.Personalities.Passt;
using Netdevd.Personalities.Pasta;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// The thread that joined pasta's namespace must not be the maker of any other thread: Linux
/// gives a new thread its maker's namespace, so a thread-pool worker started from there makes
/// every host socket (a -T relay's connection to the host's loopback) in the namespace, where
/// nothing listens. Work queued to the pool from that thread is how the runtime came to start
/// workers there (a full run once saw a -T forward answer its first client with nothing; the
/// daemon under load had two pool workers, the pool's gate and timer threads in the namespace).
/// </summary>
public sealed class PastaNamespaceThreadTests
{
    [Fact]
    public async Task Opening_forwards_queues_no_work_from_the_namespace_thread_and_leaves_no_other_thread_there()
    {
        TapTestKit.RequireRoot();
        await using var ns = await TestNamespace.CreateAsync();
        using var thread = NamespaceThread.Start(ns.Path);
        // Its OS thread id and its namespace, from inside (other tests' namespace threads have its name).
        var (nsTid, netns) = thread.Invoke(() => (
            long.Parse(Path.GetFileName(new DirectoryInfo("/proc/thread-self").LinkTarget!), CultureInfo.InvariantCulture),
            new FileInfo("/proc/thread-self/ns/net").LinkTarget!));
        PortForward[] forwards = [new("tcp", null, 18611, 18611), new("tcp", null, 18612, 18612), new("udp", null, 18613, 18613)];
        using var queued = new PoolQueueWatch();
        queued.WaitUntilReporting();
        var opened = NamespaceForwards.Open(thread, forwards, ipv4: true, ipv6: false);
        await using (opened)
        {
            _ = opened.ListenOnLoopback("tcp", [18614, 18615], ipv4: true, ipv6: false);
            Assert.Equal(0, queued.From(nsTid));
            var inside = ThreadsIn(netns, nsTid);
            Assert.True(inside.Count == 0, $"threads of this process in the namespace besides its own thread: {string.Join(", ", inside)}");
        }
    }

    /// <summary>
    /// The threads that queue work to the pool while it lives, as the runtime reports each
    /// (FrameworkEventSource's ThreadPoolEnqueueWork, with the queuing thread's id).
    /// </summary>
    private sealed class PoolQueueWatch : EventListener
    {
        /// <summary>FrameworkEventSource's ThreadPool and ThreadTransfer keywords: its enqueue events.</summary>
        private const EventKeywords ThreadPoolKeywords = (EventKeywords)0x12;

        private readonly List<long> _queuers = [];

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "System.Diagnostics.Eventing.FrameworkEventSource")
            {
                EnableEvents(eventSource, EventLevel.Verbose, ThreadPoolKeywords);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName == "ThreadPoolEnqueueWork")
            {
                lock (_queuers)
                {
                    _queuers.Add(eventData.OSThreadId);
                }
            }
        }

        /// <summary>
        /// Returns once the runtime reports enqueues (it notices a listener lazily): queues probes
        /// until one is seen.
        /// </summary>
        public void WaitUntilReporting()
        {
            var deadline = Environment.TickCount64 + 10_000;
            while (Count() == 0)
            {
                Assert.True(Environment.TickCount64 < deadline, "the runtime reported no work queued to the pool");
                ThreadPool.UnsafeQueueUserWorkItem(_ => { }, null);
                Thread.Sleep(10);
            }
        }

        private int Count()
        {
            lock (_queuers)
            {
                return _queuers.Count;
            }
        }

        /// <summary>How many work items the thread with OS id <paramref name="tid"/> queued.</summary>
        public int From(long tid)
        {
            lock (_queuers)
            {
                return _queuers.Count(q => q == tid);
            }
        }
    }

    /// <summary>
    /// The names of this process's threads other than <paramref name="exceptTid"/> in the network
    /// namespace named <paramref name="netns"/> (as /proc shows it, net:[inode]): other tests' own
    /// namespace threads are in namespaces of their own.
    /// </summary>
    private static List<string> ThreadsIn(string netns, long exceptTid)
    {
        var inside = new List<string>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (Path.GetFileName(task) != exceptTid.ToString(CultureInfo.InvariantCulture)
                    && new FileInfo(Path.Combine(task, "ns", "net")).LinkTarget == netns)
                {
                    inside.Add(File.ReadAllText(Path.Combine(task, "comm")).Trim());
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return inside;
    }
}
