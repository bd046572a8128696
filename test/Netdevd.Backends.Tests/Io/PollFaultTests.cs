using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// A poll callback or posted action that throws is a fault of its netdev: counted there, and the
/// I/O thread keeps polling, for that netdev and for the others that share the thread. Before, the
/// exception ended the I/O thread and with it the process.
/// </summary>
public sealed class PollFaultTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_throwing_callback_counts_a_fault_and_the_shared_thread_serves_both_netdevs_on()
    {
        var pool = new IoThreadPool(1, "iof-a");
        var faulty = new Owner("faulty");
        var healthy = new Owner("healthy");
        using var bad = new EventTarget(pool, faulty, onReadable: () => throw new InvalidOperationException("bad input"));
        using var good = new EventTarget(pool, healthy);

        bad.Signal();
        Assert.True(SpinWait.SpinUntil(() => faulty.Stats.Faults == 1, Patience));

        good.Signal();
        Assert.True(good.Called.Wait(Patience));

        // The faulting netdev itself is still polled.
        bad.Signal();
        Assert.True(SpinWait.SpinUntil(() => faulty.Stats.Faults == 2, Patience));
        Assert.Equal(0, healthy.Stats.Faults);
        Assert.True(bad.Loop.IsRegistered);
    }

    [Fact]
    public void A_throwing_posted_action_counts_a_fault_and_later_actions_run()
    {
        var pool = new IoThreadPool(1, "iof-p");
        var owner = new Owner("posted");
        using var target = new EventTarget(pool, owner);
        using var ran = new ManualResetEventSlim();

        target.Loop.Post(() => throw new InvalidOperationException("bad action"));
        target.Loop.Post(ran.Set);

        Assert.True(ran.Wait(Patience));
        Assert.Equal(1, owner.Stats.Faults);
    }

    [Fact]
    public void A_loop_of_its_own_thread_survives_a_throwing_callback()
    {
        var pool = new IoThreadPool(0, "iof-o");
        var owner = new Owner("own");
        var calls = 0;
        using var target = new EventTarget(pool, owner, onReadable: () =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new ArgumentOutOfRangeException(nameof(calls), "first frame");
            }
        });

        target.Signal();
        Assert.True(SpinWait.SpinUntil(() => owner.Stats.Faults == 1, Patience));
        target.Signal();
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref calls) == 2, Patience));
    }

    internal sealed class Owner(string name) : NetClient(name, NetClientDriver.Socket)
    {
        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) => ReceiveResult.Accepted;
    }
}
