using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.LegacySocket;
using Netdevd.Backends.Stream;
using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Core.Nic;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Json;
using Netdevd.Tests.Shared;

namespace Netdevd.Interop.Tests.Stream;

/// <summary>
/// One netdevd instance (a registry with the stream and socket factories) with a NIC on the
/// netdev under test, and the checks every stream-transport interop test makes: frames of
/// several sizes both ways byte-exact and in order, and a burst that must arrive complete.
/// </summary>
internal sealed class StreamRig : IAsyncDisposable
{
    public static readonly int[] Sizes = [60, 1514, 9014, 65535];

    private readonly BlockingCollection<byte[]> _frames = [];
    private long _count;
    private long _outOfOrder;
    private int _lastSeq = -1;
    private volatile bool _countOnly;
    private string _firstGap = "";

    public StreamRig()
    {
        Registry = new NetdevRegistry([new StreamNetdevFactory(), new SocketNetdevFactory(), new HubportNetdevFactory()], Events, NullLoggerFactory.Instance);
        Nic = new NicClient("nic0", OnFrame);
    }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public Recorder Events { get; } = new();

    public NetdevRegistry Registry { get; }

    public NicClient Nic { get; }

    public NetClient? Netdev { get; private set; }

    public long Count => Interlocked.Read(ref _count);

    public async Task<NetClient> AddAsync(Netdevd.Qapi.Schema.Netdev netdev)
    {
        Netdev = await Registry.AddAsync(netdev, NetdevOrigin.CommandLineModern, cancellationToken: Ct);
        Registry.AttachNic(netdev.Id, Nic);
        return Netdev;
    }

    /// <summary>Frames of every size both ways between the test's peer (behind QEMU) and the NIC (behind netdevd).</summary>
    public async Task ExchangeAllSizesAsync(StreamFramePeer peer)
    {
        var seq = 0;
        foreach (var size in Sizes)
        {
            var toNic = Frames.Make(size, seq++);
            await peer.SendAsync(toNic);
            Assert.Equal(toNic, Next());
            var toPeer = Frames.Make(size, seq++);
            Assert.NotEqual(DeliveryResult.Dropped, Nic.Transmit(toPeer));
            Assert.Equal(toPeer, await peer.ReceiveAsync(TimeSpan.FromSeconds(10)));
        }

        // A train of every size in one go, each way, keeps its order.
        var train = Sizes.Concat(Sizes).Select((s, i) => Frames.Make(s, 100 + i)).ToList();
        foreach (var f in train)
        {
            await peer.SendAsync(f);
        }

        foreach (var f in train)
        {
            Assert.Equal(f, Next());
        }

        foreach (var f in train)
        {
            Assert.NotEqual(DeliveryResult.Dropped, Nic.Transmit(f));
        }

        foreach (var f in train)
        {
            Assert.Equal(f, await peer.ReceiveAsync(TimeSpan.FromSeconds(10)));
        }
    }

    /// <summary><paramref name="total"/> small frames written by the peer in one stream arrive at the NIC, all and in order.</summary>
    public async Task BurstToNicAsync(StreamFramePeer peer, int total)
    {
        _countOnly = true;
        Interlocked.Exchange(ref _count, 0);
        _lastSeq = -1;
        var wire = new byte[total * 64];
        for (var i = 0; i < total; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(wire.AsSpan(i * 64), 60);
            Frames.Make(60, i).CopyTo(wire, (i * 64) + 4);
        }

        // In windows of 5000 frames: QEMU's hub forwards without a completion callback, so a
        // QEMU netdev whose socket is full drops beyond 10000 queued frames (net/queue.c). Unix
        // stream sockets fill after a few hundred small writes. The window keeps QEMU, not
        // netdevd, from being the one that loses frames; netdevd still gets thousands per read.
        const int Window = 5000;
        for (var start = 0; start < total; start += Window)
        {
            var end = Math.Min(total, start + Window);
            await peer.SendRawAsync(wire.AsMemory(start * 64, (end - start) * 64));
            await Eventually.WaitUntilAsync(() => Count >= end, $"{end} frames at the NIC (got {Count}, gaps {Interlocked.Read(ref _outOfOrder)})", 20_000);
        }

        Assert.Equal(total, Count);
        Assert.True(Interlocked.Read(ref _outOfOrder) == 0, $"{Interlocked.Read(ref _outOfOrder)} out of order, first at {_firstGap}");
        _countOnly = false;
    }

    /// <summary><paramref name="total"/> small frames from the NIC reach the peer, all and in order (the NIC waits when told Queued).</summary>
    public async Task BurstToPeerAsync(StreamFramePeer peer, int total)
    {
        var reader = Task.Run(async () =>
        {
            for (var i = 0; i < total; i++)
            {
                var f = await peer.ReceiveAsync(TimeSpan.FromSeconds(20));
                Assert.Equal(i, Frames.Sequence(f));
            }
        });
        for (var i = 0; i < total; i++)
        {
            var r = Nic.Transmit(Frames.Make(60, i));
            Assert.NotEqual(DeliveryResult.Dropped, r);
            if (r == DeliveryResult.Queued)
            {
                await Task.Delay(1, Ct);
            }
        }

        await reader.WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }

    public byte[] Next() =>
        _frames.TryTake(out var f, 10_000, Ct) ? f : throw new TimeoutException("no frame arrived at the NIC");

    public async ValueTask DisposeAsync() => await Registry.DisposeAsync();

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        if (!_countOnly)
        {
            _frames.Add(frame.ToArray());
            return;
        }

        var seq = (frame[8] << 24) | (frame[9] << 16) | (frame[10] << 8) | frame[11];
        if (seq != _lastSeq + 1)
        {
            if (Interlocked.Increment(ref _outOfOrder) == 1)
            {
                _firstGap = $"{_lastSeq} -> {seq} after {Count} frames";
            }
        }

        _lastSeq = seq;
        Interlocked.Increment(ref _count);
    }

    /// <summary>Records netdevd's events (with their JSON) in order.</summary>
    internal sealed class Recorder : IQapiEventSink
    {
        private readonly List<QapiEvent> _events = [];

        public void Emit(QapiEvent qapiEvent)
        {
            lock (_events)
            {
                _events.Add(qapiEvent);
            }
        }

        public IReadOnlyList<(string Name, string Data)> Snapshot()
        {
            lock (_events)
            {
                return [.. _events.Select(e => (e.Name, e.Data is null ? "" : QmpJsonFormatter.Format(e.Data)))];
            }
        }

        public Task WaitCountAsync(string name, int count) =>
            Eventually.WaitUntilAsync(() => Snapshot().Count(e => e.Name == name) >= count, $"{count} x {name}", 15_000);
    }
}
