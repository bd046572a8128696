using Netdevd.Backends.Io;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// The I/O thread's epoll set against descriptors that change under it. An epoll registration
/// belongs to the open file, not to its number: a descriptor closed while registered stays in the
/// set whenever someone else still holds the file (a vhost-user front-end's kick eventfd, a tap
/// fd libvirt passed), reports under a number that may name something else by then, and, were it
/// re-armed, would keep the thread from sleeping; a delete by that number could take another
/// loop's registration instead. Owners close in either order (vhost-user replaces a kick before
/// it lets the old one go): whatever the order, the thread must neither spin nor lose events.
/// </summary>
public sealed class IoThreadEpollTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_descriptor_given_up_and_closed_while_another_holder_keeps_its_file_does_not_keep_the_thread_awake()
    {
        var pool = new IoThreadPool(1, "iot-e1");
        using var other = new EventTarget(pool);
        using var target = WatchedWithSecondHolder(pool, out var held);
        try
        {
            // The thread is kept busy meanwhile, so it cannot follow the change before the close.
            using (Occupy(target.Loop))
            {
                var given = target.Fd;
                target.Loop.Watch(-1);
                target.Fd = -1;
                Assert.Equal(0, Libc.Close(given));

                // The file becomes readable and stays so (no one drains it).
                Signal(held);
            }

            AssertQuiet(target.Loop, "the I/O thread kept waking for a descriptor its loop gave up");
            Assert.Equal(1, target.Calls);
            other.Signal();
            Assert.True(other.Called.Wait(Patience));
        }
        finally
        {
            Libc.Close(held);
        }
    }

    [Fact]
    public void A_descriptor_swapped_for_another_is_left_and_the_new_one_is_waited_on()
    {
        var pool = new IoThreadPool(1, "iot-e2");
        using var target = WatchedWithSecondHolder(pool, out var held);
        var first = target.Fd;
        try
        {
            var second = NewEventFd();
            using (Occupy(target.Loop))
            {
                target.Fd = second;
                target.Loop.Watch(second);
                Assert.Equal(0, Libc.Close(first));
                Signal(held);
            }

            AssertQuiet(target.Loop, "the I/O thread kept waking for the descriptor swapped out");
            Assert.Equal(1, target.Calls);

            Signal(second);
            Assert.True(SpinWait.SpinUntil(() => target.Calls > 1, Patience));
        }
        finally
        {
            Libc.Close(held);
        }
    }

    [Fact]
    public void A_descriptor_closed_before_its_loop_is_given_the_next_one_does_not_keep_the_thread_awake()
    {
        var pool = new IoThreadPool(1, "iot-e5");
        using var target = WatchedWithSecondHolder(pool, out var held);
        var first = target.Fd;
        try
        {
            // vhost-user's order: the old kick is closed first, then the loop gets the new one.
            int second;
            using (Occupy(target.Loop))
            {
                Assert.Equal(0, Libc.Close(first));
                second = NewEventFd();
                target.Fd = second;
                target.Loop.Watch(second);
                Signal(held);
            }

            AssertQuiet(target.Loop, "the I/O thread kept waking for the descriptor closed first");
            Assert.True(target.Calls <= 2, $"{target.Calls - 1} callbacks for the closed descriptor");

            var before = target.Calls;
            Signal(second);
            Assert.True(SpinWait.SpinUntil(() => target.Calls > before, Patience));
        }
        finally
        {
            Libc.Close(held);
        }
    }

    [Fact]
    public void A_number_closed_by_one_loop_and_reused_by_another_on_the_same_thread_reports_to_the_new_loop()
    {
        var pool = new IoThreadPool(1, "iot-e3");
        using var keep = new EventTarget(pool);
        var number = NewEventFd();
        using (var gone = new SwitchableTarget(pool, number, ownsFd: false))
        {
            Signal(number);
            Assert.True(gone.Called.Wait(Patience));
        }

        // The number takes a new file in one step (dup2 closes the old one): no other thread can
        // take it in between, as a close and a later open would allow.
        var fresh = NewEventFd();
        Assert.Equal(number, Libc.Dup2(fresh, number));
        Libc.Close(fresh);

        using var next = new SwitchableTarget(pool, number);
        Signal(number);
        Assert.True(next.Called.Wait(Patience), "the loop that took the number over heard nothing");
    }

    [Fact]
    public void A_descriptor_the_set_cannot_wait_on_is_reported_as_hung_up()
    {
        var pool = new IoThreadPool(1, "iot-e4");
        var path = Path.GetTempFileName();
        try
        {
            // A regular file: epoll refuses it (EPERM); poll would have called it invalid or ready.
            using var file = File.OpenHandle(path);
            using var target = new SwitchableTarget(pool, (int)file.DangerousGetHandle(), ownsFd: false);
            Assert.True(target.HungUp.Wait(Patience));
            Assert.Equal(-1, target.Fd);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A target whose eventfd is in its thread's set (it has reported once) and whose file has a
    /// second holder, <paramref name="held"/>, as a front-end holds a kick eventfd it passed.
    /// </summary>
    private static SwitchableTarget WatchedWithSecondHolder(IoThreadPool pool, out int held)
    {
        var target = new SwitchableTarget(pool, NewEventFd());
        Signal(target.Fd);
        Assert.True(target.Called.Wait(Patience));
        held = Libc.Dup(target.Fd);
        Assert.True(held >= 0);
        return target;
    }

    /// <summary>Asserts that <paramref name="loop"/>'s thread stays (nearly) idle for 400 ms: a thread woken for ever burns ~40 ticks.</summary>
    private static void AssertQuiet(PollLoop loop, string failure)
    {
        var cpu = ThreadCpuTicks(loop);
        Thread.Sleep(400);
        Assert.True(ThreadCpuTicks(loop) - cpu <= 10, failure);
    }

    /// <summary>Holds <paramref name="loop"/>'s thread inside a posted action until the result is disposed.</summary>
    private static Release Occupy(PollLoop loop)
    {
        var inside = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        loop.Post(() =>
        {
            inside.Set();
            release.Wait(Patience);
        });
        Assert.True(inside.Wait(Patience));
        return new Release(release, inside);
    }

    private sealed class Release(ManualResetEventSlim release, ManualResetEventSlim inside) : IDisposable
    {
        public void Dispose()
        {
            release.Set();
            inside.Dispose();
        }
    }

    private static int NewEventFd()
    {
        var fd = Libc.EventFd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        Assert.True(fd >= 0);
        return fd;
    }

    private static void Signal(int fd)
    {
        Span<byte> one = stackalloc byte[8];
        BitConverter.TryWriteBytes(one, 1UL);
        Assert.Equal(8, Libc.Write(fd, one));
    }

    /// <summary>User plus system time, in clock ticks, of the thread <paramref name="loop"/> runs on.</summary>
    private static long ThreadCpuTicks(PollLoop loop)
    {
        var tid = 0;
        using var read = new ManualResetEventSlim();
        loop.Post(() =>
        {
            tid = ThreadProc.CurrentId();
            read.Set();
        });
        Assert.True(read.Wait(Patience));

        // Fields 14 and 15 of /proc/<pid>/task/<tid>/stat, counted after the ")" that ends the name.
        var fields = ThreadProc.StatFields($"/proc/self/task/{tid}/stat");
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A target whose descriptor the test swaps and closes itself; it drains what it is told to watch.</summary>
    private sealed class SwitchableTarget : IPollTarget, IDisposable
    {
        private readonly bool _ownsFd;
        private volatile int _fd;
        private int _calls;

        public SwitchableTarget(IoThreadPool pool, int fd, bool ownsFd = true)
        {
            _fd = fd;
            _ownsFd = ownsFd;
            Loop = new PollLoop("iot-epoll", this, pool);
            Loop.Watch(fd);
            Loop.Start();
        }

        public PollLoop Loop { get; }

        /// <summary>The descriptor the target drains and, if it owns it, closes at the end (-1: none).</summary>
        public int Fd
        {
            get => _fd;
            set => _fd = value;
        }

        public ManualResetEventSlim Called { get; } = new();

        public ManualResetEventSlim HungUp { get; } = new();

        public int Calls => Volatile.Read(ref _calls);

        public void OnReadable()
        {
            Span<byte> drain = stackalloc byte[8];
            _ = Libc.Read(Fd, drain);
            Interlocked.Increment(ref _calls);
            Called.Set();
        }

        public void OnWritable()
        {
        }

        public void OnHangup()
        {
            Fd = -1;
            Loop.Watch(-1);
            HungUp.Set();
        }

        public void Dispose()
        {
            Loop.Dispose();
            if (_ownsFd && Fd >= 0)
            {
                Libc.Close(Fd);
            }

            Called.Dispose();
            HungUp.Dispose();
        }
    }
}
