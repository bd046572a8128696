using Netdevd.Backends.Io;
using Netdevd.Backends.Tests.Io;
using Netdevd.Backends.User;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.User;

/// <summary>
/// A user netdev's host I/O follows the guest's frames onto the thread that carried them
/// (<see cref="PollLoopHostIo.FollowCaller"/>): the thread it left ends, the one it joined serves it
/// after its own backend has gone, moves are rate-limited, and a move onto a thread that ended
/// meanwhile lands where the pool places it. An eventfd stands in for the netdev's epoll descriptor.
/// </summary>
public sealed class HostIoFollowTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly int _fd = Libc.EventFd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
    private readonly SemaphoreSlim _ready = new(0);
    private int _readyThread;

    [Fact]
    public void The_host_io_moves_to_the_callers_thread_and_stays_there_after_that_backend_leaves()
    {
        var pool = new IoThreadPool(0, "iot-h");
        var hostIo = Start(pool);
        var own = hostIo.Thread!;
        Assert.NotEqual(0, Signal());

        var feeder = new EventTarget(pool, onReadable: hostIo.FollowCaller);
        feeder.Signal();
        Assert.True(SpinWait.SpinUntil(() => hostIo.Moves == 1, Patience));

        Assert.Same(feeder.Loop.Thread, hostIo.Thread);
        Assert.True(SpinWait.SpinUntil(() => !own.IsAlive, Patience), "the netdev's own thread ended");
        Assert.Equal(feeder.ThreadId, Signal());

        // The feeding backend goes away; its thread goes on serving the host I/O.
        feeder.Dispose();
        Assert.Equal(feeder.ThreadId, Signal());

        var joined = hostIo.Thread!;
        hostIo.Dispose();
        Assert.False(joined.IsAlive);
        Assert.Null(hostIo.Thread);
    }

    [Fact]
    public void Following_allocates_nothing_when_there_is_nothing_to_move()
    {
        // FollowCaller runs at the end of every batch of the guest's frames: after the move, on
        // the thread it moved to, it must cost no garbage, nor on a thread that is no I/O thread.
        var pool = new IoThreadPool(0, "iot-z");
        using var hostIo = Start(pool);
        using var feeder = new EventTarget(pool, onReadable: hostIo.FollowCaller);
        feeder.Signal();
        Assert.True(SpinWait.SpinUntil(() => hostIo.Moves == 1, Patience));

        long onItsThread = -1;
        using var measured = new ManualResetEventSlim();
        Assert.True(feeder.Loop.Thread.TryPost(() =>
        {
            onItsThread = AllocatedBy(hostIo.FollowCaller);
            measured.Set();
        }));
        Assert.True(measured.Wait(Patience));

        Assert.Equal(0, onItsThread);
        Assert.Equal(0, AllocatedBy(hostIo.FollowCaller));
        Assert.Equal(1, hostIo.Moves);
    }

    [Fact]
    public void Two_feeders_on_two_threads_move_it_at_most_once_a_second()
    {
        var pool = new IoThreadPool(0, "iot-b");
        using var hostIo = Start(pool);
        using var a = new EventTarget(pool, onReadable: hostIo.FollowCaller);
        using var b = new EventTarget(pool, onReadable: hostIo.FollowCaller);

        a.Signal();
        Assert.True(SpinWait.SpinUntil(() => hostIo.Moves == 1, Patience));
        var started = Environment.TickCount64;
        for (var i = 0; i < 20; i++)
        {
            (i % 2 == 0 ? b : a).Signal();
            Thread.Sleep(10);
        }

        if (Environment.TickCount64 - started < PollLoopHostIo.MoveIntervalMs)
        {
            Assert.Equal(1, hostIo.Moves);
            Assert.Same(a.Loop.Thread, hostIo.Thread);
        }

        // A second later the other feeder may take it.
        Assert.True(SpinWait.SpinUntil(() =>
        {
            b.Signal();
            Thread.Sleep(20);
            return ReferenceEquals(hostIo.Thread, b.Loop.Thread);
        }, Patience));
        Assert.Equal(b.ThreadId, Signal());
    }

    [Fact]
    public void A_move_onto_a_thread_that_ended_meanwhile_lands_where_the_pool_places_it()
    {
        var pool = new IoThreadPool(0, "iot-x");
        using var hostIo = Start(pool);
        var own = hostIo.Thread!;
        using var hold = HoldBusy(own);

        // The feeder asks for the move while the host I/O's thread is busy, then ends.
        var feeder = new EventTarget(pool, onReadable: hostIo.FollowCaller);
        feeder.Signal();
        Assert.True(feeder.Called.Wait(Patience));
        var gone = feeder.Loop.Thread;
        feeder.Dispose();
        Assert.False(gone.IsAlive);
        hold.Set();

        Assert.True(SpinWait.SpinUntil(() => hostIo.Thread is { } t && t != own && t.IsAlive, Patience));
        Assert.NotSame(gone, hostIo.Thread);
        Assert.Equal(0, hostIo.Moves);
        var id = Signal();
        Assert.NotEqual(0, id);
        Assert.NotEqual(feeder.ThreadId, id);
    }

    [Fact]
    public async Task Disposed_while_a_move_waits_it_leaves_no_loop_behind()
    {
        var pool = new IoThreadPool(0, "iot-d");
        var hostIo = Start(pool);
        var own = hostIo.Thread!;
        using var hold = HoldBusy(own);
        using var feeder = new EventTarget(pool, onReadable: hostIo.FollowCaller);
        feeder.Signal();
        Assert.True(feeder.Called.Wait(Patience));

        // Disposal waits for the busy thread, and the move it had asked for never happens.
        var disposing = Task.Run(hostIo.Dispose, TestContext.Current.CancellationToken);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.False(disposing.IsCompleted);
        hold.Set();
        await disposing.WaitAsync(Patience, TestContext.Current.CancellationToken);

        Assert.False(own.IsAlive);
        Assert.Null(hostIo.Thread);
        Assert.Equal(1, feeder.Loop.Thread.MemberCount);
        Assert.Equal(0, hostIo.Moves);
    }

    public void Dispose()
    {
        _ = Libc.Close(_fd);
        _ready.Dispose();
    }

    /// <summary>Bytes this thread allocates in 100 calls of <paramref name="action"/> after a first one.</summary>
    private static long AllocatedBy(Action action)
    {
        action();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            action();
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>Keeps <paramref name="thread"/> inside a posted action until the returned event is set.</summary>
    private static ManualResetEventSlim HoldBusy(IoThread thread)
    {
        var hold = new ManualResetEventSlim();
        using var held = new ManualResetEventSlim();
        Assert.True(thread.TryPost(() =>
        {
            held.Set();
            hold.Wait(Patience);
        }));
        Assert.True(held.Wait(Patience));
        return hold;
    }

    private PollLoopHostIo Start(IoThreadPool pool)
    {
        var hostIo = new PollLoopHostIo("user-test", pool);
        hostIo.Start(_fd, OnReady);
        return hostIo;
    }

    /// <summary>Makes the stand-in descriptor readable; the managed id of the thread that served it (0: none did).</summary>
    private int Signal()
    {
        Span<byte> one = stackalloc byte[8];
        BitConverter.TryWriteBytes(one, 1UL);
        Assert.Equal(8, Libc.Write(_fd, one));
        return _ready.Wait(Patience) ? Volatile.Read(ref _readyThread) : 0;
    }

    private void OnReady()
    {
        Span<byte> drain = stackalloc byte[8];
        if (Libc.Read(_fd, drain) == 8)
        {
            Volatile.Write(ref _readyThread, Environment.CurrentManagedThreadId);
            _ready.Release();
        }
    }
}
