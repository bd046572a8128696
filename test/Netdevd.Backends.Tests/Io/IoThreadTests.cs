using Netdevd.Backends.Io;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>How poll loops share (or do not share) threads, and what their disposal guarantees.</summary>
public sealed class IoThreadTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(1, true)]
    [InlineData(0, false)]
    public void Loops_share_a_thread_only_in_a_shared_pool(int sharedThreads, bool shared)
    {
        var pool = new IoThreadPool(sharedThreads, "iot-a");
        using var a = new EventTarget(pool);
        using var b = new EventTarget(pool);

        a.Signal();
        b.Signal();

        Assert.True(a.Called.Wait(Patience));
        Assert.True(b.Called.Wait(Patience));
        Assert.Equal(shared, a.ThreadId == b.ThreadId);
        Assert.Equal(shared, a.Loop.SharesThread);
    }

    [Fact]
    public void Loops_are_spread_over_the_shared_threads()
    {
        var pool = new IoThreadPool(2, "iot-s");
        using var a = new EventTarget(pool);
        using var b = new EventTarget(pool);
        using var c = new EventTarget(pool);

        foreach (var t in new[] { a, b, c })
        {
            t.Signal();
            Assert.True(t.Called.Wait(Patience));
        }

        // The first two get a thread each, the third joins one of them.
        Assert.NotEqual(a.ThreadId, b.ThreadId);
        Assert.Contains(c.ThreadId, new[] { a.ThreadId, b.ThreadId });
    }

    [Fact]
    public async Task Dispose_off_the_thread_returns_only_after_a_running_callback_ended()
    {
        var pool = new IoThreadPool(1, "iot-d");
        using var other = new EventTarget(pool);
        using var gate = new ManualResetEventSlim();
        var target = new EventTarget(pool, onReadable: () => gate.Wait(Patience));
        target.Signal();
        Assert.True(target.Called.Wait(Patience));

        var disposing = Task.Run(target.Dispose);

        // The callback is still inside: disposal must wait for it, whatever the timing.
        var first = await Task.WhenAny(disposing, Task.Delay(300, TestContext.Current.CancellationToken));
        Assert.NotSame(disposing, first);
        gate.Set();
        await disposing.WaitAsync(Patience, TestContext.Current.CancellationToken);

        // The shared thread goes on serving the other loop.
        other.Signal();
        Assert.True(other.Called.Wait(Patience));
    }

    [Fact]
    public async Task Actions_posted_to_a_disposed_loop_do_not_run_and_the_others_do()
    {
        var pool = new IoThreadPool(1, "iot-p");
        using var live = new EventTarget(pool);
        var gone = new EventTarget(pool);
        using var block = new ManualResetEventSlim();
        using var ran = new ManualResetEventSlim();
        var goneRan = false;

        // Hold the thread so both posts queue up behind this one.
        live.Loop.Post(() => block.Wait(Patience));
        gone.Loop.Post(() => goneRan = true);
        live.Loop.Post(ran.Set);
        var disposing = Task.Run(gone.Dispose);
        Assert.True(SpinWait.SpinUntil(() => !gone.Loop.IsRegistered, Patience));
        block.Set();

        await disposing.WaitAsync(Patience, TestContext.Current.CancellationToken);
        Assert.True(ran.Wait(Patience, TestContext.Current.CancellationToken));
        Assert.False(goneRan);
    }

    [Fact]
    public void A_loop_disposed_by_another_loops_callback_is_not_called_in_that_round()
    {
        var pool = new IoThreadPool(1, "iot-r");
        EventTarget? victim = null;
        using var killer = new EventTarget(pool, onReadable: () => victim!.Loop.Dispose());
        victim = new EventTarget(pool);
        using (victim)
        {
            // Both readable before the thread wakes: one poll round reports both.
            killer.Loop.Post(() =>
            {
                killer.Signal();
                victim.Signal();
            });

            Assert.True(killer.Called.Wait(Patience));
            killer.Signal();
            Assert.True(SpinWait.SpinUntil(() => killer.Calls >= 2, Patience));
            Assert.Equal(0, victim.Calls);
        }
    }

    [Fact]
    public void An_action_that_posts_itself_again_lets_the_thread_serve_its_descriptors_in_between()
    {
        // As vhost-user's drain does when its budget runs out, to give the other descriptors a turn.
        var pool = new IoThreadPool(1, "iot-y");
        using var busy = new EventTarget(pool);
        using var other = new EventTarget(pool);
        var stop = false;
        long runs = 0;
        Action? again = null;
        again = () =>
        {
            Interlocked.Increment(ref runs);
            if (!Volatile.Read(ref stop))
            {
                busy.Loop.Post(again!);
            }
        };

        busy.Loop.Post(again);
        Assert.True(SpinWait.SpinUntil(() => Interlocked.Read(ref runs) > 10, Patience));
        other.Signal();
        var served = other.Called.Wait(Patience);

        // And the action goes on running without anything else waking the thread.
        var before = Interlocked.Read(ref runs);
        var goesOn = SpinWait.SpinUntil(() => Interlocked.Read(ref runs) > before + 10, Patience);
        Volatile.Write(ref stop, true);
        Assert.True(served, "the other descriptor was never served");
        Assert.True(goesOn, "the action stopped running");
    }

    [Fact]
    public async Task Wakes_from_many_threads_are_never_lost()
    {
        // Four threads post without pause while the loop keeps waking and re-arming; every post
        // must run. A wake lost in the race between the loop re-arming and a waker would leave
        // the loop asleep with posts queued, and the count would stop short.
        const int Senders = 4;
        const int PostsEach = 50_000;
        var pool = new IoThreadPool(1, "iot-w");
        using var target = new EventTarget(pool);
        var ran = 0;
        Action count = () => Interlocked.Increment(ref ran);
        var senders = Enumerable.Range(0, Senders).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < PostsEach; i++)
            {
                target.Loop.Post(count);
            }
        }));
        await Task.WhenAll(senders);

        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref ran) == Senders * PostsEach, Patience), $"{Volatile.Read(ref ran)} of {Senders * PostsEach} posts ran");
    }
}
