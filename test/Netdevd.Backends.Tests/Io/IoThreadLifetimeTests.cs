using Netdevd.Backends.Io;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// Who ends an I/O thread: a backend's own thread ends with its last loop, so a loop that moved
/// onto it keeps it serving; a thread that has ended takes no loop and no work.
/// </summary>
public sealed class IoThreadLifetimeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_loop_that_joined_a_backends_own_thread_keeps_it_serving_after_the_backend_leaves()
    {
        var owner = new EventTarget(new IoThreadPool(0, "iot-l"));
        owner.Signal();
        Assert.True(owner.Called.Wait(Patience));
        var thread = owner.Loop.Thread;

        var follower = new EventTarget(thread, out var started);
        Assert.True(started);
        owner.Dispose();

        // The backend has gone; its thread still serves the loop that joined it.
        follower.Signal();
        Assert.True(follower.Called.Wait(Patience));
        Assert.Equal(owner.ThreadId, follower.ThreadId);
        Assert.True(thread.IsAlive);

        // The last loop leaves: the thread ends (off the thread, before Dispose returns).
        follower.Dispose();
        Assert.False(thread.IsAlive);
    }

    [Fact]
    public void A_thread_that_outlives_the_backend_it_was_named_for_takes_the_name_of_what_it_serves()
    {
        var owner = new EventTarget(new IoThreadPool(0, "iot-n"));
        var thread = owner.Loop.Thread;
        Assert.Equal("iot-test", OsName(thread));

        // Longer than Linux keeps (15 bytes), as a netdev's id may be.
        using var follower = new EventTarget(thread, out var started, "user-a-long-netdev-id");
        Assert.True(started);
        // Disposed below, before the scope ends, to see the name change; `using` still releases it
        // should an assertion fail first (a second Dispose closes nothing).
        using var sibling = new EventTarget(thread, out started);
        Assert.True(started);

        // A loop named for the thread is still there: the name stays.
        owner.Dispose();
        Assert.Equal("iot-test", OsName(thread));

        // The last of them leaves: the thread now shows what it serves.
        sibling.Dispose();
        Assert.Equal("user-a-long-netdev-id", thread.Name);
        Assert.Equal("user-a-long-net", OsName(thread));
        follower.Signal();
        Assert.True(follower.Called.Wait(Patience));
    }

    [Fact]
    public void A_thread_whose_last_loop_left_takes_no_other()
    {
        var owner = new EventTarget(new IoThreadPool(0, "iot-e"));
        owner.Signal();
        Assert.True(owner.Called.Wait(Patience));
        var thread = owner.Loop.Thread;
        owner.Dispose();

        Assert.False(thread.IsAlive);
        using var late = new EventTarget(thread, out var started);
        Assert.False(started);
        Assert.False(late.Loop.IsRegistered);
        Assert.False(thread.TryPost(() => { }));
    }

    [Fact]
    public void Work_posted_before_the_last_loop_left_still_runs()
    {
        for (var round = 0; round < 20; round++)
        {
            var owner = new EventTarget(new IoThreadPool(0, "iot-w"));
            var thread = owner.Loop.Thread;
            using var ran = new ManualResetEventSlim();

            // Whether the thread takes it in its last round or after leaving its loop, it runs.
            Assert.True(thread.TryPost(ran.Set));
            owner.Dispose();

            Assert.True(ran.Wait(Patience), $"round {round}");
        }
    }

    [Fact]
    public async Task A_thread_ended_by_its_own_posted_work_never_polls_a_descriptor_number_it_gave_back()
    {
        // The ending thread used to close its wake eventfd at once and poll once more; a thread
        // created right then got the same number for its own wake and could lose its stop signal
        // to the ending one, and its disposal then waited for ever.
        for (var round = 0; round < 20; round++)
        {
            var pool = new IoThreadPool(0, "iot-n");
            var first = new EventTarget(pool);
            EventTarget? next = null;
            using var created = new ManualResetEventSlim();
            first.Loop.Post(() =>
            {
                first.Loop.Dispose();
                next = new EventTarget(pool);
                created.Set();
            });
            Assert.True(created.Wait(Patience));

            next!.Signal();
            Assert.True(next.Called.Wait(Patience), $"round {round}: the new thread serves its loop");
            await Task.Run(next.Dispose, TestContext.Current.CancellationToken).WaitAsync(Patience, TestContext.Current.CancellationToken);
            first.Dispose();
        }
    }

    [Fact]
    public void A_loop_joins_a_shared_thread_and_is_served_there()
    {
        using var shared = new EventTarget(new IoThreadPool(1, "iot-s"));
        shared.Signal();
        Assert.True(shared.Called.Wait(Patience));

        using var follower = new EventTarget(shared.Loop.Thread, out var started);
        Assert.True(started);
        follower.Signal();
        Assert.True(follower.Called.Wait(Patience));
        Assert.Equal(shared.ThreadId, follower.ThreadId);
    }

    /// <summary>The thread's name as the kernel has it (what <c>ps -L</c> shows), read on the thread.</summary>
    private static string OsName(IoThread thread)
    {
        string? name = null;
        using var read = new ManualResetEventSlim();
        Assert.True(thread.TryPost(() =>
        {
            name = File.ReadAllText("/proc/thread-self/comm").TrimEnd('\n');
            read.Set();
        }));
        Assert.True(read.Wait(Patience));
        return name!;
    }
}
