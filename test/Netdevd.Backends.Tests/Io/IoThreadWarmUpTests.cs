using System.Runtime.CompilerServices;
using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// The I/O thread's warm-up after a sleep (HotObjects, FramePathCode): a loop that reported has its
/// path recorded once the thread goes idle, never between callbacks; a path that throws while
/// recorded is a fault of its netdev and the thread goes on; a disposed loop lets go of what it
/// recorded.
/// </summary>
public sealed class IoThreadWarmUpTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The sleep before a signal: far beyond the 1 ms after which the thread counts itself idle
    /// (and its paths cold), so that even a thread kept off the CPU for a while by a busy machine
    /// has timed out its first wait by the time the signal comes.
    /// </summary>
    private static readonly TimeSpan Idle = TimeSpan.FromMilliseconds(100);

    [Fact]
    public void A_loop_that_reported_has_its_path_recorded_once_the_thread_is_idle_not_between_its_callbacks()
    {
        var pool = new IoThreadPool(1, "iow-a");
        var order = new List<string>();
        EventTarget? target = null;
        target = new EventTarget(
            pool,
            onReadable: () =>
            {
                lock (order)
                {
                    order.Add("read");
                }

                // The second event is there before the thread waits again: it is served at once,
                // and the path is recorded only after both, when nothing more comes.
                if (target!.Calls == 1)
                {
                    target.Signal();
                }
            },
            onCollect: hot =>
            {
                lock (order)
                {
                    order.Add("collect");
                }
            });
        using (target)
        {
            Thread.Sleep(Idle);
            target.Signal();
            Assert.True(SpinWait.SpinUntil(() => target.Calls == 2, Patience));

            // Recorded while idle, before any further event: the next wake-up finds it done.
            Assert.True(SpinWait.SpinUntil(() => CountOf(order, "collect") == 1, Patience));
            Thread.Sleep(Idle);
            lock (order)
            {
                Assert.Equal(["read", "read", "collect"], order);
            }

            target.Signal();
            Assert.True(SpinWait.SpinUntil(() => CountOf(order, "collect") == 2, Patience));
            Thread.Sleep(Idle);
            lock (order)
            {
                Assert.Equal(["read", "read", "collect", "read", "collect"], order);
            }
        }
    }

    [Fact]
    public void A_path_that_throws_while_recorded_counts_a_fault_and_the_loop_is_served_on()
    {
        var pool = new IoThreadPool(1, "iow-b");
        var owner = new PollFaultTests.Owner("faulty");
        using var target = new EventTarget(pool, owner, onCollect: _ => throw new InvalidOperationException("bad path"));

        Thread.Sleep(Idle);
        target.Signal();
        Assert.True(SpinWait.SpinUntil(() => owner.Stats.Faults == 1, Patience));

        Thread.Sleep(Idle);
        target.Signal();
        Assert.True(SpinWait.SpinUntil(() => target.Calls == 2 && owner.Stats.Faults == 2, Patience));
        Assert.True(target.Loop.IsRegistered);
    }

    [Fact]
    public void A_loop_disposed_by_its_own_callback_is_not_recorded_and_its_thread_serves_the_others()
    {
        var pool = new IoThreadPool(1, "iow-d");
        var collectedA = 0;
        var collectedB = 0;
        EventTarget? a = null;
        a = new EventTarget(pool, onReadable: () => a!.Loop.Dispose(), onCollect: _ => Interlocked.Increment(ref collectedA));
        using var b = new EventTarget(pool, onCollect: _ => Interlocked.Increment(ref collectedB));
        Assert.Same(a.Loop.Thread, b.Loop.Thread);

        Thread.Sleep(Idle);
        a.Signal();
        Assert.True(SpinWait.SpinUntil(() => a.Calls == 1, Patience));
        Thread.Sleep(Idle);
        b.Signal();
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref collectedB) == 1, Patience));

        // A reported, then left during its own callback: the idle thread skipped its path.
        Assert.Equal(0, Volatile.Read(ref collectedA));
        Assert.False(a.Loop.IsRegistered);
        a.Dispose();
    }

    [Fact]
    public void A_disposed_loop_lets_go_of_the_objects_its_path_recorded()
    {
        var pool = new IoThreadPool(1, "iow-c");
        var (target, held) = RecordedBy(pool);

        // The loop itself is still reachable (its target holds it): only its disposal let go.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(held.IsAlive);
        GC.KeepAlive(target.Loop);
    }

    /// <summary>A loop whose path records an object nothing else holds, woken once after a sleep, then disposed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (EventTarget Target, WeakReference Held) RecordedBy(IoThreadPool pool)
    {
        var recorded = new TaskCompletionSource();
        var weak = new WeakReference(null);
        var target = new EventTarget(pool, onCollect: hot =>
        {
            var path = new byte[4096];
            weak.Target = path;
            hot.Add(path);
            recorded.TrySetResult();
        });
        Thread.Sleep(Idle);
        target.Signal();
        Assert.True(recorded.Task.Wait(Patience));
        Assert.True(weak.IsAlive);
        target.Dispose();
        return (target, weak);
    }

    private static int CountOf(List<string> order, string what)
    {
        lock (order)
        {
            return order.Count(o => o == what);
        }
    }
}
