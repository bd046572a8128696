using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.Dgram;
using Netdevd.Core.Hubs;
using Netdevd.Core.Clients;
using Netdevd.Core.Nic;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;
using SocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Interop.Tests.Dgram;

/// <summary>netdevd's side of the datagram interop tests (an in-process registry with a capturing NIC) and small helpers.</summary>
internal static class DgramInteropKit
{
    public static readonly int[] UdpSizes = [60, 1514, 9014, 65507];

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static string S(int n) => n.ToString(CultureInfo.InvariantCulture);

    public static NetdevRegistry NewRegistry() =>
        new([new DgramNetdevFactory(), new HubportNetdevFactory()], new SilentSink(), NullLoggerFactory.Instance);

    public static Netdev DgramNetdev(string id, SocketAddress? local, SocketAddress? remote) => new()
    {
        Id = id,
        Type = NetClientDriver.Dgram,
        Dgram = new NetdevDgramOptions { Local = local, Remote = remote },
    };

    public static SocketAddress Inet(string host, int port) => new()
    {
        Type = SocketAddressType.Inet,
        Inet = new InetSocketAddress { Host = host, Port = S(port) },
    };

    public static SocketAddress Unix(string path) => new()
    {
        Type = SocketAddressType.Unix,
        Unix = new UnixSocketAddress { Path = path },
    };

    /// <summary>A group in 239.255.0.0/16 picked at random; traffic stays on loopback (local.host=127.0.0.1).</summary>
    public static IPAddress RandomGroup() => new([239, 255, (byte)Random.Shared.Next(1, 255), (byte)Random.Shared.Next(1, 255)]);

    /// <summary>Waits for a frame equal to <paramref name="expected"/>, skipping others (multicast echoes).</summary>
    public static byte[] ExpectFrame(Func<byte[]> next, byte[] expected)
    {
        while (true)
        {
            var f = next();
            if (f.AsSpan().SequenceEqual(expected))
            {
                return f;
            }
        }
    }

    public static async Task<byte[]> ExpectFrameAsync(DatagramFramePeer peer, byte[] expected)
    {
        while (true)
        {
            var f = await peer.ReceiveAsync(TimeSpan.FromSeconds(5));
            if (f.AsSpan().SequenceEqual(expected))
            {
                return f;
            }
        }
    }

    /// <summary>The kernel's drop counter of the UDP socket bound to <paramref name="port"/> (last column of /proc/net/udp).</summary>
    public static long UdpDrops(int port)
    {
        var hexPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        long drops = 0;
        foreach (var line in File.ReadLines("/proc/net/udp").Skip(1))
        {
            var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cols.Length > 12 && cols[1].EndsWith(hexPort, StringComparison.Ordinal))
            {
                drops += long.Parse(cols[^1], CultureInfo.InvariantCulture);
            }
        }

        return drops;
    }

    private sealed class SilentSink : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}

/// <summary>A NIC that keeps (or just counts) what netdevd delivers.</summary>
internal sealed class CapturingNic
{
    private readonly System.Collections.Concurrent.BlockingCollection<byte[]> _frames = [];
    private long _count;

    public CapturingNic(string name, bool keep = true)
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

    public byte[] Next() => _frames.TryTake(out var f, 5000) ? f : throw new TimeoutException("no frame reached netdevd's NIC");

    public DeliveryResult Send(byte[] frame) => Client.Transmit(frame);
}
