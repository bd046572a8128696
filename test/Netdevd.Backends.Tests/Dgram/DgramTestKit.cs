using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.Dgram;
using Netdevd.Core.Hubs;
using Netdevd.Core.Nic;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;
using SocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Backends.Tests.Dgram;

/// <summary>Builders and fixtures for the dgram tests: registries, option objects, NIC capture, free ports.</summary>
internal static class DgramTestKit
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static NetdevRegistry NewRegistry() =>
        new([new DgramNetdevFactory(), new HubportNetdevFactory()], new NullEventSink(), NullLoggerFactory.Instance);

    public static Netdev DgramNetdev(string id, SocketAddress? local, SocketAddress? remote) => new()
    {
        Id = id,
        Type = NetClientDriver.Dgram,
        Dgram = new NetdevDgramOptions { Local = local, Remote = remote },
    };

    public static SocketAddress Inet(string host, string port) => new()
    {
        Type = SocketAddressType.Inet,
        Inet = new InetSocketAddress { Host = host, Port = port },
    };

    public static SocketAddress Inet(IPEndPoint ep) => Inet(ep.Address.ToString(), ep.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static SocketAddress Unix(string path) => new()
    {
        Type = SocketAddressType.Unix,
        Unix = new UnixSocketAddress { Path = path },
    };

    public static SocketAddress Fd(string str)
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

    public static SocketAddress Vsock() => new()
    {
        Type = SocketAddressType.Vsock,
        Vsock = new VsockSocketAddress { Cid = "2", Port = "1234" },
    };

    public static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    public static string TempDir() => TestDirectories.Create("nd-dg-");

    /// <summary>A group in 239.255.0.0/16 (organisation-local) picked at random, unlikely to collide.</summary>
    public static IPAddress RandomGroup() => new([239, 255, (byte)Random.Shared.Next(1, 255), (byte)Random.Shared.Next(1, 255)]);

    public static byte[] Frame(int length, int seq)
    {
        var f = new byte[length];
        for (var i = 0; i < length; i++)
        {
            f[i] = (byte)((i * 13) + seq);
        }

        f.AsSpan(0, 6).Fill(0xff);
        if (length >= 10)
        {
            BitConverter.TryWriteBytes(f.AsSpan(6, 4), seq);
        }

        return f;
    }

    public static int Seq(byte[] frame) => BitConverter.ToInt32(frame, 6);
}

/// <summary>A NIC that keeps what it receives.</summary>
internal sealed class CaptureNic
{
    private readonly BlockingCollection<byte[]> _frames = [];
    private long _count;

    public CaptureNic(string name, bool keep = true)
    {
        Client = new NicClient(name, frame =>
        {
            Interlocked.Increment(ref _count);
            if (keep)
            {
                _frames.Add(frame.ToArray());
            }
        });
    }

    public NicClient Client { get; }

    public long Count => Interlocked.Read(ref _count);

    public byte[] Next(int timeoutMs = 5000) =>
        _frames.TryTake(out var f, timeoutMs) ? f : throw new TimeoutException("no frame arrived at the NIC");

    public bool TryNext(int timeoutMs, out byte[]? frame) => _frames.TryTake(out frame, timeoutMs);
}

internal sealed class NullEventSink : IQapiEventSink
{
    public void Emit(QapiEvent qapiEvent)
    {
    }
}

internal sealed class FakeMonitorFds(Dictionary<string, int> fds) : IMonitorFdStore
{
    public bool TryTake(string name, out int fd) => fds.Remove(name, out fd);
}
