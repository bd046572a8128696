using System.Diagnostics;
using System.Net.Sockets;
using Netdevd.Backends.Vde;
using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;

namespace Netdevd.Backends.Tests.Vde;

/// <summary>
/// The vde handshake waits on the switch outside the registry's gate: a switch that never
/// answers holds up its own add (until the handshake timeout), no other netdev command, and
/// cancelling the add ends the wait at once. Whatever the end, nothing stays open.
/// </summary>
[Collection(nameof(DescriptorCounting))]
public sealed class VdePendingAddTests
{
    /// <summary>What "at once" is allowed to take on a loaded machine: far below the 5 s handshake timeout.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(1.5);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task A_switch_that_never_answers_holds_up_only_its_own_add_until_the_timeout()
    {
        await WarmUpAsync();
        var dir = TestDirectories.Create("nd-vde-");
        using var silent = new SilentSwitch(dir);
        var before = await OwnDescriptors.SettledAsync();
        await using var r = NewRegistry();
        var started = Stopwatch.StartNew();
        var add = Task.Run(() => r.AddAsync(Vde("v0", dir), NetdevOrigin.Monitor, null, Ct), Ct);
        await silent.Requested.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        // The handshake waits for the answer; every other netdev command goes on meanwhile.
        var other = Stopwatch.StartNew();
        await r.AddAsync(Hubport("h0"), NetdevOrigin.Monitor, null, Ct).WaitAsync(Prompt, Ct);
        var duplicate = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Hubport("v0"), NetdevOrigin.Monitor, null, Ct).WaitAsync(Prompt, Ct));
        Assert.Equal("Duplicate ID 'v0'", duplicate.Message);
        var missing = await Assert.ThrowsAsync<QapiException>(() => r.DeleteAsync("v0", Ct).WaitAsync(Prompt, Ct));
        Assert.Equal("Device 'v0' not found", missing.Message);
        Assert.Equal(["h0"], r.Snapshot().Select(e => e.Id));
        Assert.True(other.Elapsed < Prompt, $"the other commands took {other.Elapsed}");
        Assert.False(add.IsCompleted);

        // The timeout ends the add with what a switch that never answers gets (SO_RCVTIMEO's EAGAIN).
        var failure = await Assert.ThrowsAsync<QapiException>(() => add.WaitAsync(TimeSpan.FromSeconds(20), Ct));
        Assert.Equal("Could not open vde: Connection timed out", failure.Message);
        Assert.InRange(started.Elapsed, VdeConnector.HandshakeTimeout - TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(20));
        Assert.Equal(["h0"], r.Snapshot().Select(e => e.Id));
        Assert.Single(Directory.GetFileSystemEntries(dir)); // our data socket is not left behind

        // The control connection is closed (the switch reads its end), and so is everything else.
        await silent.Closed.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        await r.DeleteAsync("h0", Ct);
        Assert.Empty(await OwnDescriptors.LeftOpenAsync(before));
    }

    public static TheoryData<bool, bool> CancelCases() => new()
    {
        // Waiting for the switch's answer / for room in its backlog; by the caller / by the registry closing.
        { false, false },
        { false, true },
        { true, false },
        { true, true },
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(CancelCases))]
    public async Task Cancelling_a_pending_add_ends_it_at_once_and_closes_everything(bool fullBacklog, bool disposeRegistry)
    {
        await WarmUpAsync();
        var dir = TestDirectories.Create("nd-vde-");
        var ctl = Path.Combine(dir, "ctl");
        using var silent = fullBacklog ? null : new SilentSwitch(dir);
        using var backlog = fullBacklog ? new FullBacklogListener(ctl) : null;
        var before = await OwnDescriptors.SettledAsync();
        var r = NewRegistry();
        var closed = false;
        try
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var add = Task.Run(() => r.AddAsync(Vde("v0", dir), NetdevOrigin.Monitor, null, cancel.Token), Ct);
            if (silent is not null)
            {
                await silent.Requested.WaitAsync(TimeSpan.FromSeconds(10), Ct);
            }
            else
            {
                // Nothing tells when the connect has met the full backlog: give it the time to.
                await Task.Delay(300, Ct);
            }

            Assert.False(add.IsCompleted);
            var ending = Stopwatch.StartNew();
            if (disposeRegistry)
            {
                closed = true;
                await r.DisposeAsync().AsTask().WaitAsync(Prompt, Ct);
            }
            else
            {
                await cancel.CancelAsync();
            }

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => add.WaitAsync(Prompt, Ct));
            Assert.True(ending.Elapsed < Prompt, $"the add took {ending.Elapsed} to end");
            Assert.Single(Directory.GetFileSystemEntries(dir)); // our data socket is not left behind
            if (silent is not null)
            {
                await silent.Closed.WaitAsync(TimeSpan.FromSeconds(5), Ct);
            }

            Assert.Empty(await OwnDescriptors.LeftOpenAsync(before));
            if (!disposeRegistry)
            {
                // The id is free again.
                Assert.Empty(r.Snapshot());
                await r.AddAsync(Hubport("v0"), NetdevOrigin.Monitor, null, Ct);
            }
        }
        finally
        {
            // Once only: a second DisposeAsync would meet the registry's disposed gate.
            if (!closed)
            {
                await r.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// One cancelled add and a hubport before counting: the first netdevs and sockets of the
    /// process load assemblies, each mapping holding a descriptor that is not the add's.
    /// </summary>
    private static async Task WarmUpAsync()
    {
        var dir = TestDirectories.Create("nd-vde-");
        using var silent = new SilentSwitch(dir);
        await using var r = NewRegistry();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var add = r.AddAsync(Vde("w0", dir), NetdevOrigin.Monitor, null, cancel.Token);
        await silent.Requested.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => add);
        await silent.Closed.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        await r.AddAsync(Hubport("w1"), NetdevOrigin.Monitor, null, Ct);
        await r.DeleteAsync("w1", Ct);
    }

    private static NetdevRegistry NewRegistry() =>
        new([new VdeNetdevFactory(), new HubportNetdevFactory()], new Silent(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

    private static Netdev Vde(string id, string sock) => new() { Id = id, Type = NetClientDriver.Vde, Vde = new NetdevVdeOptions { Sock = sock } };

    private static Netdev Hubport(string id) => new() { Id = id, Type = NetClientDriver.Hubport, Hubport = new NetdevHubPortOptions { Hubid = 0 } };

    /// <summary>
    /// Something listening at a switch's ctl path that takes one connection and its request and
    /// never answers; it holds the connection until the other end closes it.
    /// </summary>
    private sealed class SilentSwitch : IDisposable
    {
        private readonly Socket _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SilentSwitch(string dir)
        {
            _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _listener.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "ctl")));
            _listener.Listen(1);

            // Accepting already: the runtime's socket engine is made before the test counts descriptors.
            Closed = Task.Run(ServeAsync);
        }

        /// <summary>Completes once the request has arrived (the handshake then waits for the answer).</summary>
        public Task Requested => _requested.Task;

        /// <summary>Completes once the control connection was closed (or shut down) at the other end, and its socket here is closed too.</summary>
        public Task Closed { get; }

        public void Dispose()
        {
            _stop.Cancel();
            try
            {
                Closed.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
            }

            _listener.Dispose();
            _stop.Dispose();
        }

        private async Task ServeAsync()
        {
            using var c = await _listener.AcceptAsync(_stop.Token);
            var request = new byte[VdeRequest.FixedSize + VdeRequest.MaxDescription];
            var n = await c.ReceiveAsync(request, SocketFlags.None, _stop.Token);
            Assert.True(n >= VdeRequest.FixedSize, $"a short request ({n} bytes)");
            _requested.SetResult();
            while (await c.ReceiveAsync(request, SocketFlags.None, _stop.Token) > 0)
            {
            }
        }
    }

    private sealed class Silent : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
