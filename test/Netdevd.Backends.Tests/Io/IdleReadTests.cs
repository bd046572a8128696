using Netdevd.Backends.Io;
using Netdevd.Backends.Tap;
using Netdevd.Backends.Tests.Tap;
using Netdevd.Core.Clients;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// The I/O thread's idle read: after a millisecond with nothing to do, a thread waits for its tap
/// in a blocking read instead of epoll, and everything else it serves (other loops' descriptors,
/// posted work, its own end) interrupts the read through the <see cref="IdleReadWaker"/>. The tap
/// here is one end of a datagram socket pair (one read, one frame; a blocking read blocks). A tap
/// is read idle once one of its frames ended a sleep of the thread, and a first frame showed that
/// its reads can be made not to wait (RWF_NOWAIT): every test echoes one frame first, each to an
/// idle thread.
/// </summary>
public sealed class IdleReadTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task An_idle_tap_is_read_and_answered_from_a_blocking_read()
    {
        Assert.True(ReadInterrupt.TryInstall(), ReadInterrupt.Outcome);
        var pool = new IoThreadPool(1, "idr-a");
        await using var tap = new LoneTap(pool, "idra0");
        var thread = pool.Place()!;
        Assert.Equal([0], await tap.EchoAsync(0));
        Assert.Equal(0, thread.IdleReads);
        for (byte i = 1; i <= 5; i++)
        {
            Assert.True(SpinWait.SpinUntil(() => thread.InIdleRead, Patience), "the thread never read idle");
            Assert.Equal([i], await tap.EchoAsync(i));
        }

        // Every frame came out of an idle read (each was written while the thread sat in one).
        Assert.Equal(5, thread.IdleReads);
    }

    [Fact]
    public async Task Everything_else_the_thread_serves_interrupts_its_idle_read()
    {
        var pool = new IoThreadPool(1, "idr-b");
        await using var tap = new LoneTap(pool, "idrb0");
        using var other = new EventTarget(pool);
        var thread = pool.Place()!;
        Assert.Equal([0], await tap.EchoAsync(0));
        for (var i = 0; i < 100; i++)
        {
            // A frame first (to an idle thread): after a wake-up from elsewhere it idles in epoll
            // until its tap wakes it from a sleep.
            Assert.Equal([(byte)i], await tap.EchoAsync((byte)i));
            Assert.True(SpinWait.SpinUntil(() => thread.InIdleRead, Patience), $"round {i}: the thread never read idle");
            if (i % 2 == 0)
            {
                // Another loop's descriptor.
                var calls = other.Calls;
                other.Signal();
                Assert.True(SpinWait.SpinUntil(() => other.Calls > calls, Patience), $"round {i}: the other loop was not served");
            }
            else
            {
                // Work posted to the thread.
                using var ran = new ManualResetEventSlim();
                Assert.True(thread.TryPost(ran.Set));
                Assert.True(ran.Wait(Patience), $"round {i}: posted work did not run");
            }
        }

        Assert.True(thread.IdleReadsInterrupted >= 100, $"{thread.IdleReadsInterrupted} interrupted idle reads");
    }

    [Fact]
    public async Task Woken_from_elsewhere_the_thread_idles_in_epoll_until_its_tap_wakes_it_again()
    {
        var pool = new IoThreadPool(1, "idr-f");
        await using var tap = new LoneTap(pool, "idrf0");
        using var other = new EventTarget(pool);
        var thread = pool.Place()!;
        Assert.Equal([0], await tap.EchoAsync(0));
        Assert.True(SpinWait.SpinUntil(() => thread.InIdleRead, Patience));

        // Woken by the other loop, the thread's next sleeps are in epoll: what woke it last is
        // likely to wake it next (a host's requests), and epoll hears it without the waker's hop.
        other.Signal();
        Assert.True(SpinWait.SpinUntil(() => other.Calls == 1, Patience));
        Assert.Equal(1, thread.IdleReadsInterrupted);
        for (var i = 2; i <= 5; i++)
        {
            Thread.Sleep(20);
            Assert.False(thread.InIdleRead, "an idle read after a wake-up from elsewhere");
            other.Signal();
            Assert.True(SpinWait.SpinUntil(() => other.Calls == i, Patience));
        }

        Assert.Equal(1, thread.IdleReadsInterrupted);

        // A frame from the tap that ends a sleep (in epoll) turns idle reads back on; the next
        // frame comes out of one.
        Assert.Equal([1], await tap.EchoAsync(1));
        Assert.Equal(0, thread.IdleReads);
        Assert.True(SpinWait.SpinUntil(() => thread.InIdleRead, Patience), "the tap's frame did not turn idle reads back on");
        Assert.Equal([2], await tap.EchoAsync(2));
        Assert.Equal(1, thread.IdleReads);
    }

    [Fact]
    public async Task A_signal_that_lands_before_the_read_itself_is_sent_again()
    {
        var pool = new IoThreadPool(1, "idr-c");
        await using var tap = new LoneTap(pool, "idrc0");
        var thread = pool.Place()!;

        // Work is posted while the thread is between arming the waker and its read, and the thread
        // dawdles there: the waker's first signal lands before the read and interrupts nothing.
        // Sent once only, the read would wait for a frame that never comes, and the work with it.
        using var ran = new ManualResetEventSlim();
        var posted = 0;
        thread.BeforeIdleRead = () =>
        {
            if (Interlocked.Exchange(ref posted, 1) == 0)
            {
                // From another thread, as every post that wakes this one comes.
                var poster = new Thread(() => thread.TryPost(ran.Set));
                poster.Start();
                poster.Join();
                Thread.Sleep(200);
            }
        };

        // The first idle read comes after the first frame (see the class's summary).
        Assert.Equal([0], await tap.EchoAsync(0));
        Assert.True(ran.Wait(Patience), "work posted as the thread went into its idle read never ran");
        Assert.Equal(1, Volatile.Read(ref posted));
        thread.BeforeIdleRead = null;
    }

    [Fact]
    public async Task A_tap_deleted_during_an_idle_read_is_gone_at_once_and_its_thread_serves_on()
    {
        var pool = new IoThreadPool(1, "idr-d");
        var tap = new LoneTap(pool, "idrd0");
        using var other = new EventTarget(pool);
        var thread = pool.Place()!;
        Assert.Equal([0], await tap.EchoAsync(0));
        Assert.True(SpinWait.SpinUntil(() => thread.InIdleRead, Patience));

        await tap.DisposeAsync().AsTask().WaitAsync(Patience, TestContext.Current.CancellationToken);

        other.Signal();
        Assert.True(SpinWait.SpinUntil(() => other.Calls == 1, Patience));

        // With no tap left the thread, idle again, waits in epoll.
        Thread.Sleep(50);
        Assert.False(thread.InIdleRead);
    }

    [Fact]
    public async Task Of_two_taps_on_one_thread_the_one_not_read_idle_is_heard_all_the_same()
    {
        var pool = new IoThreadPool(1, "idr-e");
        await using var first = new LoneTap(pool, "idre0");
        await using var second = new LoneTap(pool, "idre1");
        var thread = pool.Place()!;
        Assert.Equal([0], await first.EchoAsync(0));
        Assert.Equal([0], await second.EchoAsync(0));
        for (byte i = 1; i <= 20; i++)
        {
            // Ten frames on one, then ten on the other, each to an idle thread: it reads idle the
            // tap whose frame ended its last sleep, so the other's first frame is heard through
            // the waker, its second by epoll, and the rest from idle reads again.
            var tap = i <= 10 ? first : second;
            Assert.Equal([i], await tap.EchoAsync(i));
        }

        Assert.True(thread.IdleReads >= 16, $"{thread.IdleReads} frames came out of idle reads");
        Assert.True(thread.IdleReadsInterrupted >= 1, "no idle read was interrupted for the other tap");
    }
}
