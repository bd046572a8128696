using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.Tests.Io;
using Netdevd.Native;
using Netdevd.Personalities.Pasta;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// Runs alone: its flood keeps every core of a small machine busy for seconds, which would slow
/// tests beside it, and its own bounds are on how soon the relay's thread gets to things.
/// </summary>
[CollectionDefinition(nameof(SpliceFlood), DisableParallelization = true)]
public sealed class SpliceFlood;

/// <summary>
/// The splice relay's budget per epoll report (SplicedConnection.RoundBudget). A connection
/// whose two peers are both faster than the relay never has a splice say EAGAIN, so nothing but
/// the budget ends its turn: it must still leave the relay's one thread to the other spliced
/// connections and to the relay's stop. The relay is driven directly, over loopback TCP
/// connections of the test's own namespace: it only splices between two sockets, wherever they are.
/// </summary>
/// <remarks>
/// On a core of its own the relay outruns its peers (it copies nothing, they copy every byte),
/// finds a socket empty or full now and then, and the budget is not needed: a relay without it
/// passed this test so. The test puts the relay where it falls behind (<see cref="StartOnOneCore"/>).
/// </remarks>
[Collection(nameof(SpliceFlood))]
public sealed class PastaSpliceBudgetTests
{
    /// <summary>How long a small message or the relay's stop may take; the flood lasts far longer (several times this).</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The pipes of the test's connections: the kernel's default, and what each of a few thousand
    /// spliced connections gets (<see cref="LoopbackSplice.PipeSize"/>).
    /// </summary>
    private const int PipeBytes = 64 << 10;

    /// <summary>Small messages through the quiet connection, one a second while the flood goes on.</summary>
    private const int Exchanges = 6;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task A_flooded_connection_leaves_the_relay_to_another_connection_and_to_its_stop()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        // Inherited by every accepted socket: deep queues on the relay's side too.
        Deepen((int)listener.SafeHandle.DangerousGetHandle());
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(8);

        // The relay's sides of two connections (side 0 as the host's client, side 1 as the
        // namespace's server) and the peers this test drives on each.
        var (floodHost, writer) = Connect(listener);
        var (floodInner, reader) = Connect(listener);
        var (quietHost, client) = Connect(listener);
        var (quietInner, server) = Connect(listener);
        var (relay, flood) = StartOnOneCore(writer, reader);
        Task? disposing = null;
        try
        {
            Assert.True(relay.Add(new SplicedConnection(quietHost, quietInner, Pipe(), Pipe())));
            Assert.True(relay.Add(new SplicedConnection(floodHost, floodInner, Pipe(), Pipe())));

            // The flood is under way: from here the relay finds data to take and room to put it
            // at every splice of the flooded connection.
            var started = Stopwatch.StartNew();
            while (flood.Received < 64 << 20 && flood.Running && started.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(20, Token);
            }

            Assert.True(flood.Received >= 64 << 20, $"the flood moved only {flood.Received} bytes in {started.Elapsed}");

            // The quiet connection's messages, both ways, each within the bound while the flood goes on.
            var took = new List<double>();
            string? late = null;
            var floodBefore = flood.Received;
            for (var i = 0; i < Exchanges && late is null; i++)
            {
                await Task.Delay(1000, Token);
                var exchange = Stopwatch.StartNew();
                if (!Exchange(client, server, i))
                {
                    late = $"message {i} of the quiet connection did not cross within {Bound} (the flood had run {started.Elapsed})";
                }

                took.Add(exchange.Elapsed.TotalMilliseconds);
            }

            var floodDuring = flood.Received - floodBefore;
            var runningAtStop = flood.Running;

            // The relay's stop, with the flood still going: off this thread, as a stop that waits
            // for the transfer waits as long as the writer goes on (for ever, but for the test).
            var stopping = Stopwatch.StartNew();
            disposing = Task.Factory.StartNew(relay.Dispose, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var stoppedInTime = await Task.WhenAny(disposing, Task.Delay(Bound, Token)) == disposing;
            var stopTook = stopping.Elapsed;

            // A relay that kept its thread lets go once the writer stops.
            flood.Stop();
            await disposing.WaitAsync(TimeSpan.FromSeconds(20), Token);

            TestContext.Current.TestOutputHelper?.WriteLine(
                $"flood: {flood.Received >> 20} MiB in {started.Elapsed}; exchanges (ms): {string.Join(", ", took.Select(t => t.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))}; stop {stopTook.TotalMilliseconds:F1} ms");
            Assert.Multiple(
                () => Assert.True(late is null, late),
                () => Assert.True(stoppedInTime, $"the relay's stop took {stopping.Elapsed}, returning only once the flood's writer stopped"),
                () => Assert.True(runningAtStop, "the flood ended before the relay was stopped: the test proved nothing"),
                () => Assert.True(floodDuring >= 64 << 20, $"the flood moved only {floodDuring} bytes while the quiet connection was served: starved"),
                () => Assert.True(flood.MismatchAt < 0, $"the flooded stream's byte {flood.MismatchAt} is not the next one the writer sent"),
                () => Assert.True(flood.Received <= flood.Sent, $"{flood.Received} bytes arrived of {flood.Sent} sent"));
        }
        finally
        {
            // Already done but after a failure above, where the relay may hold its thread until the writer stops.
            flood.Stop();
            if (disposing is null)
            {
                relay.Dispose();
            }

            foreach (var fd in new[] { writer, reader, client, server })
            {
                Libc.Close(fd);
            }
        }
    }

    /// <summary>
    /// Starts the relay and the flood with the relay's thread, the writer's and the reader's on
    /// one core, the relay's as SCHED_IDLE: it runs only while both peers wait (the writer with
    /// its queue full, the reader with nothing to read), and whichever it wakes takes the core
    /// back at once. So the relay is slower than both, as behind peers on faster cores, and each
    /// of its splices finds data to take and room to put it: only the budget ends the flooded
    /// connection's turn. (A thread made by .NET does not keep its creator's CPU mask: each is set
    /// by its thread id.)
    /// </summary>
    private static (SpliceRelay Relay, Flood Flood) StartOnOneCore(int writer, int reader)
    {
        var cpu = OneCore.Pick();
        var before = OneCore.ThreadsNamed("pasta splice");
        var relay = new SpliceRelay((_, _) => null);
        try
        {
            // The new thread of that name (it is the OS thread's once the thread runs).
            int Find() => OneCore.ThreadsNamed("pasta splice").Except(before).DefaultIfEmpty(-1).Single();
            var relayThread = Find();
            for (var i = 0; i < 500 && relayThread < 0; i++)
            {
                Thread.Sleep(10);
                relayThread = Find();
            }

            Assert.True(relayThread > 0, "the relay's thread was not found");
            OneCore.Pin(relayThread, cpu);
            OneCore.Idle(relayThread);
            return (relay, new Flood(writer, reader, cpu));
        }
        catch
        {
            relay.Dispose();
            throw;
        }
    }

    private static SplicePipe Pipe() => SplicePipe.Create(PipeBytes) ?? throw new IOException(Errno.Message(Errno.Last));

    /// <summary>
    /// Queues of 8 MiB and more each way (past rmem_max/wmem_max as root): the writer runs far
    /// ahead of the relay and the reader has room to spare, so while a peer the relay woke waits
    /// for the core the relay still finds data and room.
    /// </summary>
    private static void Deepen(int fd)
    {
        Flooder.DeepenBuffer(fd, send: true);
        Flooder.DeepenBuffer(fd, send: false);
    }

    /// <summary>A loopback TCP connection: the relay's end (non-blocking, as the splice has it; the relay closes it) and its peer (blocking, the test's).</summary>
    private static (int Relay, int Peer) Connect(Socket listener)
    {
        var peer = Libc.Socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        Assert.True(peer >= 0, Errno.Message(Errno.Last));

        // Before the connect: the window scale is chosen from the receive buffer at the handshake.
        Deepen(peer);
        Assert.True(Libc.Connect(peer, SockAddr.Inet((IPEndPoint)listener.LocalEndPoint!)) == 0, Errno.Message(Errno.Last));
        Span<byte> from = stackalloc byte[128];
        var relay = Libc.Accept((int)listener.SafeHandle.DangerousGetHandle(), from, out _, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
        Assert.True(relay >= 0, Errno.Message(Errno.Last));

        // As the splice sets its sockets: small writes (the quiet messages) leave at once.
        _ = Libc.SetSockOptInt(relay, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, 1);
        _ = Libc.SetSockOptInt(peer, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, 1);
        return (relay, peer);
    }

    /// <summary>A message from the client to the server and a reply back, each within <see cref="Bound"/>.</summary>
    private static bool Exchange(int client, int server, int i)
    {
        Span<byte> message = stackalloc byte[8];
        Span<byte> got = stackalloc byte[8];
        "ping"u8.CopyTo(message);
        BinaryPrimitives.WriteInt32LittleEndian(message[4..], i);
        Assert.Equal((nint)message.Length, Libc.Send(client, message, Libc.MSG_NOSIGNAL));
        if (!ReadWithin(server, got, Environment.TickCount64 + (long)Bound.TotalMilliseconds))
        {
            return false;
        }

        Assert.True(got.SequenceEqual(message));
        "pong"u8.CopyTo(message);
        Assert.Equal((nint)message.Length, Libc.Send(server, message, Libc.MSG_NOSIGNAL));
        if (!ReadWithin(client, got, Environment.TickCount64 + (long)Bound.TotalMilliseconds))
        {
            return false;
        }

        Assert.True(got.SequenceEqual(message));
        return true;
    }

    /// <summary>Fills <paramref name="into"/> from <paramref name="fd"/>, or false once <paramref name="deadline"/> (<see cref="Environment.TickCount64"/>) passed.</summary>
    private static bool ReadWithin(int fd, Span<byte> into, long deadline)
    {
        for (var got = 0; got < into.Length;)
        {
            var left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                return false;
            }

            Span<PollFd> poll = [new PollFd { Fd = fd, Events = Libc.POLLIN }];
            if (Libc.Poll(poll, (int)left) <= 0)
            {
                // Nothing yet (or EINTR): the deadline decides.
                continue;
            }

            var n = Libc.Recv(fd, into[got..], Libc.MSG_DONTWAIT);
            Assert.True(n != 0, "the quiet connection ended");
            Assert.True(n > 0 || Errno.Last is Errno.EAGAIN or Errno.EINTR, Errno.Message(Errno.Last));
            got += (int)Math.Max(n, 0);
        }

        return true;
    }

    /// <summary>
    /// A writer thread that keeps its socket full with 1 MiB writes of a counter (each 4-byte word
    /// its index, over a 16 MiB period: a byte lost, repeated or reordered anywhere but in whole
    /// periods shows), and a reader thread that takes the other end as fast as it comes and checks
    /// every byte against it. Both run until the relay resets the connection or <see cref="Stop"/>.
    /// </summary>
    private sealed class Flood
    {
        private const int Period = 16 << 20;
        private const int Chunk = 1 << 20;

        /// <summary>The counter from any offset within its period onwards for a whole chunk (the stream's byte n is Pattern[n % Period]).</summary>
        private static readonly Lazy<byte[]> s_pattern = new(() =>
        {
            var pattern = new byte[Period + Chunk];
            for (var word = 0; word < pattern.Length / 4; word++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(pattern.AsSpan(word * 4), (uint)(word % (Period / 4)));
            }

            return pattern;
        });

        private readonly int _writer;
        private readonly int _reader;
        private readonly int _cpu;
        private readonly Thread _writing;
        private readonly Thread _reading;
        private readonly CountdownEvent _pinned = new(2);
        private volatile string? _pinFailure;
        private volatile bool _stop;
        private long _sent;
        private long _received;
        private long _mismatchAt = -1;

        public Flood(int writer, int reader, int cpu)
        {
            _ = s_pattern.Value;
            _writer = writer;
            _reader = reader;
            _cpu = cpu;

            // Bounded waits, so that each thread looks at the stop flag now and then.
            Assert.Equal(0, Libc.SetSocketTimeout(writer, Libc.SO_SNDTIMEO, TimeSpan.FromMilliseconds(200)));
            Assert.Equal(0, Libc.SetSocketTimeout(reader, Libc.SO_RCVTIMEO, TimeSpan.FromMilliseconds(200)));
            _writing = new Thread(Write) { IsBackground = true, Name = "splice flood writer" };
            _reading = new Thread(Read) { IsBackground = true, Name = "splice flood reader" };
            _reading.Start();
            _writing.Start();
            if (!_pinned.Wait(TimeSpan.FromSeconds(10)) || _pinFailure is not null)
            {
                Stop();
                throw new IOException($"the flood's threads could not move to core {cpu}: {_pinFailure}");
            }
        }

        public long Sent => Interlocked.Read(ref _sent);

        public long Received => Interlocked.Read(ref _received);

        /// <summary>The stream offset of the first byte that was not the counter's, or -1.</summary>
        public long MismatchAt => Interlocked.Read(ref _mismatchAt);

        /// <summary>Both threads still at it (neither saw the connection end or a wrong byte).</summary>
        public bool Running => _writing.IsAlive && _reading.IsAlive;

        public void Stop()
        {
            _stop = true;
            Assert.True(_writing.Join(TimeSpan.FromSeconds(20)), "the flood's writer did not stop");
            Assert.True(_reading.Join(TimeSpan.FromSeconds(20)), "the flood's reader did not stop");
        }

        /// <summary>Moves the calling thread to the flood's core; false (and the stop) when it cannot.</summary>
        private bool PinSelf()
        {
            try
            {
                OneCore.Pin(0, _cpu);
                return true;
            }
            catch (IOException e)
            {
                _pinFailure = e.Message;
                _stop = true;
                return false;
            }
            finally
            {
                _pinned.Signal();
            }
        }

        private void Write()
        {
            if (!PinSelf())
            {
                return;
            }

            var pattern = s_pattern.Value;
            var at = 0L;
            while (!_stop)
            {
                var n = Libc.Send(_writer, pattern.AsSpan((int)(at % Period), Chunk), Libc.MSG_NOSIGNAL);
                if (n > 0)
                {
                    at += n;
                    Interlocked.Exchange(ref _sent, at);
                }
                else if (Errno.Last is not (Errno.EAGAIN or Errno.EINTR))
                {
                    // The relay reset the connection (its stop).
                    return;
                }
            }
        }

        private void Read()
        {
            if (!PinSelf())
            {
                return;
            }

            var pattern = s_pattern.Value;
            var buffer = new byte[Chunk];
            var at = 0L;
            while (true)
            {
                var n = Libc.Recv(_reader, buffer, 0);
                if (n > 0)
                {
                    var got = buffer.AsSpan(0, (int)n);
                    var expected = pattern.AsSpan((int)(at % Period), (int)n);
                    if (!got.SequenceEqual(expected))
                    {
                        Interlocked.Exchange(ref _mismatchAt, at + got.CommonPrefixLength(expected));
                        return;
                    }

                    at += n;
                    Interlocked.Exchange(ref _received, at);
                }
                else if (n == 0 || Errno.Last is not (Errno.EAGAIN or Errno.EINTR) || _stop)
                {
                    // The end (the relay's reset), or told to stop with nothing more coming.
                    return;
                }
            }
        }
    }

    /// <summary>Where the flood's threads and the relay's run: one core, the relay's thread below the others.</summary>
    private static class OneCore
    {
        private const int MaskBytes = 128;

        /// <summary>The first core this process may run on.</summary>
        public static int Pick()
        {
            var mask = new byte[MaskBytes];
            Check(Libc.GetAffinity(0, mask));
            for (var cpu = 0; cpu < mask.Length * 8; cpu++)
            {
                if ((mask[cpu / 8] & (1 << (cpu % 8))) != 0)
                {
                    return cpu;
                }
            }

            throw new IOException("no core in this thread's CPU mask");
        }

        /// <summary>Restricts thread <paramref name="tid"/> (0: the calling thread) to <paramref name="cpu"/>.</summary>
        public static void Pin(int tid, int cpu)
        {
            var mask = new byte[MaskBytes];
            mask[cpu / 8] = (byte)(1 << (cpu % 8));
            Check(Libc.SetAffinity(tid, mask));
        }

        /// <summary>Gives thread <paramref name="tid"/> the SCHED_IDLE policy (lowering a thread's needs no privilege).</summary>
        public static void Idle(int tid)
        {
            Check(Libc.SetScheduler(tid, Libc.SCHED_IDLE));
        }

        /// <summary>This process's threads whose name (comm) is <paramref name="name"/>.</summary>
        public static HashSet<int> ThreadsNamed(string name)
        {
            var found = new HashSet<int>();
            foreach (var task in Directory.GetDirectories("/proc/self/task"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == name)
                    {
                        found.Add(int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture));
                    }
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }

            return found;
        }

        private static void Check(int result)
        {
            if (result != 0)
            {
                throw new IOException(Errno.Message(Errno.Last));
            }
        }
    }
}
