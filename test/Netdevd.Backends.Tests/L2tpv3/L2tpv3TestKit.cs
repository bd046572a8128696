using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.L2tpv3;
using Netdevd.Core.Hubs;
using Netdevd.Core.Nic;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Tests.L2tpv3;

/// <summary>Builders for the l2tpv3 tests: option objects, registries, NIC capture, a log capture.</summary>
internal static class L2tpv3TestKit
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static NetdevRegistry NewRegistry(ILoggerFactory? loggers = null) =>
        new([new L2tpv3NetdevFactory(), new HubportNetdevFactory()], new SilentEvents(), loggers ?? new LogCapture());

    public static NetdevL2TPv3Options Udp(string src, int srcport, string dst, int dstport, uint session) => new()
    {
        Src = src,
        Dst = dst,
        Udp = true,
        Srcport = srcport.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Dstport = dstport.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Txsession = session,
    };

    public static NetdevL2TPv3Options Ip(string src, string dst, uint session) => new() { Src = src, Dst = dst, Txsession = session };

    public static Netdev Netdev(string id, NetdevL2TPv3Options options) => new() { Id = id, Type = NetClientDriver.L2tpv3, L2tpv3 = options };

    public static byte[] Frame(int length, int seq)
    {
        var f = new byte[length];
        for (var i = 0; i < length; i++)
        {
            f[i] = (byte)((i * 31) + seq);
        }

        f.AsSpan(0, 6).Fill(0xff);
        if (length >= 10)
        {
            BitConverter.TryWriteBytes(f.AsSpan(6, 4), seq);
        }

        return f;
    }

    public static void SkipUnlessRoot() =>
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "IP encapsulation needs a raw socket (CAP_NET_RAW): run as root");
}

/// <summary>A NIC that keeps what it receives.</summary>
internal sealed class FrameSink
{
    private readonly BlockingCollection<byte[]> _frames = [];

    public FrameSink(string name) => Client = new NicClient(name, frame => _frames.Add(frame.ToArray()));

    public NicClient Client { get; }

    public byte[] Next(int timeoutMs = 5000) =>
        _frames.TryTake(out var f, timeoutMs) ? f : throw new TimeoutException("no frame arrived at the NIC");

    public bool Quiet(int ms) => !_frames.TryTake(out _, ms);
}

internal sealed class SilentEvents : IQapiEventSink
{
    public void Emit(QapiEvent qapiEvent)
    {
    }
}

/// <summary>Collects log lines of every category.</summary>
internal sealed class LogCapture : ILoggerFactory, ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue(formatter(state, exception));

    public void Dispose()
    {
    }
}
