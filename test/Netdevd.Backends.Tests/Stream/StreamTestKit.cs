using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.LegacySocket;
using Netdevd.Backends.Stream;
using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Core.Nic;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Json;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;
using QapiSocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Backends.Tests.Stream;

/// <summary>Fixtures for the stream and socket tests: registries, options, NIC capture, a framed test socket.</summary>
internal static class StreamTestKit
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static NetdevRegistry NewRegistry(RecordingEvents events, CapturingLoggers? loggers = null, TimeProvider? time = null) =>
        new([new StreamNetdevFactory(), new SocketNetdevFactory(), new HubportNetdevFactory()], events, loggers ?? new CapturingLoggers(), time);

    public static Netdev StreamNetdev(string id, QapiSocketAddress addr, bool? server, uint? reconnect = null) => new()
    {
        Id = id,
        Type = NetClientDriver.Stream,
        Stream = new NetdevStreamOptions { Addr = addr, Server = server, Reconnect = reconnect },
    };

    public static Netdev SocketNetdev(string id, NetdevSocketOptions options) => new()
    {
        Id = id,
        Type = NetClientDriver.Socket,
        Socket = options,
    };

    public static QapiSocketAddress Inet(string host, int port) => new()
    {
        Type = SocketAddressType.Inet,
        Inet = new InetSocketAddress { Host = host, Port = port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
    };

    public static QapiSocketAddress Unix(string path, bool? isAbstract = null, bool? tight = null) => new()
    {
        Type = SocketAddressType.Unix,
        Unix = new UnixSocketAddress { Path = path, Abstract = isAbstract, Tight = tight },
    };

    public static QapiSocketAddress Fd(string str)
    {
        // As an embedder does: a number handed to a netdev is granted first (a test's own descriptor).
        if (int.TryParse(str, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            Netdevd.Backends.Sockets.GrantedDescriptors.Grant(number);
        }

        return new()
        {
            Type = SocketAddressType.Fd,
            Fd = new Netdevd.Qapi.Schema.String { Str = str },
        };
    }

    public static int FreePort()
    {
        using var s = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    public static string TempDir() => TestDirectories.Create("nd-st-");

    public static byte[] Frame(int length, int seq)
    {
        var f = new byte[length];
        for (var i = 0; i < length; i++)
        {
            f[i] = (byte)((i * 7) + seq);
        }

        if (length >= 10)
        {
            BinaryPrimitives.WriteInt32BigEndian(f.AsSpan(6), seq);
        }

        return f;
    }

    public static int Seq(byte[] frame) => BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(6));

    public static string Json(QapiEvent e) => e.Data is null ? "" : QmpJsonFormatter.Format(e.Data);

    /// <summary>
    /// A free port below the kernel's ephemeral range (32768 and up by default), where no socket of
    /// another test or process bound to port 0 (a wildcard one would clash with any address) can
    /// land on it between two rounds, and below the random ports the QMP chaos test binds (20000 up).
    /// </summary>
    public static int FreePortBelowEphemeralRange(IPAddress address)
    {
        while (true)
        {
            var port = Random.Shared.Next(10000, 20000);
            using var probe = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                probe.Bind(new IPEndPoint(address, port));
                return port;
            }
            catch (SocketException)
            {
                // Taken: another.
            }
        }
    }
}

/// <summary>Events in arrival order, safe to read from the test while backends emit.</summary>
internal sealed class RecordingEvents : IQapiEventSink
{
    private readonly List<QapiEvent> _events = [];

    public void Emit(QapiEvent qapiEvent)
    {
        lock (_events)
        {
            _events.Add(qapiEvent);
        }
    }

    public IReadOnlyList<QapiEvent> Snapshot()
    {
        lock (_events)
        {
            return [.. _events];
        }
    }

    public IReadOnlyList<string> Names() => [.. Snapshot().Select(e => e.Name)];

    public async Task<QapiEvent> WaitAsync(string name, int nth = 1, int timeoutMs = 10_000)
    {
        QapiEvent? found = null;
        await Eventually.WaitUntilAsync(() => (found = Snapshot().Where(e => e.Name == name).Skip(nth - 1).FirstOrDefault()) is not null, $"event {name} #{nth}", timeoutMs);
        return found!;
    }
}

/// <summary>Collects log lines (the oversize message is a log line, as QEMU's is a stderr line).</summary>
internal sealed class CapturingLoggers : ILoggerFactory, ILoggerProvider
{
    /// <summary>Every line logged, with its level.</summary>
    public ConcurrentQueue<(LogLevel Level, string Line)> Entries { get; } = new();

    public IEnumerable<string> Lines => Entries.Select(e => e.Line);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggers owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((logLevel, formatter(state, exception)));
    }
}

/// <summary>A NIC that keeps (or only counts) what it receives and checks the order of sequence numbers.</summary>
internal sealed class FrameCapture
{
    private readonly BlockingCollection<byte[]> _frames = [];
    private readonly bool _keep;
    private long _count;
    private long _outOfOrder;
    private int _lastSeq = -1;

    public FrameCapture(string name, bool keep = true)
    {
        _keep = keep;
        Nic = new NicClient(name, OnFrame);
    }

    public NicClient Nic { get; }

    public long Count => Interlocked.Read(ref _count);

    public long OutOfOrder => Interlocked.Read(ref _outOfOrder);

    public byte[] Next(int timeoutMs = 10_000) =>
        _frames.TryTake(out var f, timeoutMs, StreamTestKit.Ct) ? f : throw new TimeoutException("no frame arrived at the NIC");

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        Interlocked.Increment(ref _count);
        if (frame.Length >= 10)
        {
            var seq = BinaryPrimitives.ReadInt32BigEndian(frame[6..]);
            if (seq != _lastSeq + 1)
            {
                Interlocked.Increment(ref _outOfOrder);
            }

            _lastSeq = seq;
        }

        if (_keep)
        {
            _frames.Add(frame.ToArray());
        }
    }
}

/// <summary>A receiver that can refuse frames (Busy) to exercise back-pressure, then let them through.</summary>
internal sealed class GatedClient : NetClient
{
    private volatile bool _open;
    private long _count;
    private int _lastSeq = -1;
    private long _outOfOrder;

    public GatedClient(string name)
        : base(name, NetClientDriver.Nic)
    {
    }

    public long Count => Interlocked.Read(ref _count);

    public long OutOfOrder => Interlocked.Read(ref _outOfOrder);

    public int Queued => QueuedFrames;

    public void Open()
    {
        _open = true;
        FlushQueue();
    }

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        if (!_open)
        {
            return ReceiveResult.Busy;
        }

        var seq = BinaryPrimitives.ReadInt32BigEndian(frame[6..]);
        if (seq != _lastSeq + 1)
        {
            Interlocked.Increment(ref _outOfOrder);
        }

        _lastSeq = seq;
        Interlocked.Increment(ref _count);
        return ReceiveResult.Accepted;
    }
}

/// <summary>The test's own framed socket (length prefix written here, independently of netdevd's framing).</summary>
internal sealed class FramedTestSocket(System.Net.Sockets.Socket socket) : IDisposable
{
    public System.Net.Sockets.Socket Socket { get; } = socket;

    public static async Task<FramedTestSocket> ConnectAsync(EndPoint endPoint)
    {
        var deadline = Environment.TickCount64 + 10_000;
        while (true)
        {
            var s = new System.Net.Sockets.Socket(endPoint.AddressFamily, SocketType.Stream, endPoint.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
            try
            {
                await s.ConnectAsync(endPoint, StreamTestKit.Ct);
                return new FramedTestSocket(s);
            }
            catch (SocketException) when (Environment.TickCount64 < deadline)
            {
                s.Dispose();
                await Task.Delay(20, StreamTestKit.Ct);
            }
        }
    }

    public void Send(byte[] frame)
    {
        var b = new byte[4 + frame.Length];
        BinaryPrimitives.WriteUInt32BigEndian(b, (uint)frame.Length);
        frame.CopyTo(b, 4);
        SendRaw(b);
    }

    public void SendRaw(byte[] bytes)
    {
        var at = 0;
        while (at < bytes.Length)
        {
            at += Socket.Send(bytes, at, bytes.Length - at, SocketFlags.None);
        }
    }

    public byte[] Receive(int timeoutMs = 10_000)
    {
        Socket.ReceiveTimeout = timeoutMs;
        var h = new byte[4];
        ReadExactly(h);
        var f = new byte[BinaryPrimitives.ReadUInt32BigEndian(h)];
        ReadExactly(f);
        return f;
    }

    /// <summary>True when the other side closed (reads 0 bytes) within the timeout.</summary>
    public bool WaitClosed(int timeoutMs = 10_000)
    {
        Socket.ReceiveTimeout = timeoutMs;
        var b = new byte[65536];
        try
        {
            while (true)
            {
                if (Socket.Receive(b) == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose() => Socket.Dispose();

    private void ReadExactly(byte[] buffer)
    {
        var at = 0;
        while (at < buffer.Length)
        {
            var n = Socket.Receive(buffer, at, buffer.Length - at, SocketFlags.None);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }

            at += n;
        }
    }
}
