using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Netdevd.Core.Clients;

namespace Netdevd.Core.Hubs;

/// <summary>
/// QEMU's hub (net/hub.c): a frame that one port receives from its peer leaves by every
/// other port to that port's peer. No learning, never back to the source.
/// </summary>
/// <remarks>
/// <para>The port list is an immutable snapshot swapped on add/remove, so forwarding takes no lock
/// and never allocates. Newest port first, as QEMU iterates.</para>
/// <para>Loops: QEMU accepts a hubport whose <c>netdev=</c> is a port of the same hub, or any chain
/// of hubports that leads back into a hub, and so does netdevd. A frame that comes back into a hub
/// still forwarding it (on the same thread: delivery is synchronous) is dropped and counted in the
/// entering port's <see cref="NetClientStats.LoopDrops"/> instead of circling (<see cref="HubPath"/>);
/// every real end still gets it once along each path. Negotiation walks each hub once.</para>
/// </remarks>
public sealed class Hub
{
    /// <summary>How many hubs a frame may cross in one synchronous delivery (a chain of hubports longer than any real setup).</summary>
    public const int MaxNesting = 64;

    private static int s_lastSerial;

    private ImmutableArray<HubPort> _ports = [];
    private long _loopDrops;
    private int _loopLogged;

    internal Hub(int id) => Id = id;

    public int Id { get; }

    /// <summary>Unique in the process (ids repeat across registries): how a <see cref="HubPath"/> tells hubs apart.</summary>
    internal int Serial { get; } = Interlocked.Increment(ref s_lastSerial);

    public ImmutableArray<HubPort> Ports => _ports;

    /// <summary>Frames this hub dropped because they came back into it through a loop (or nested too deep): the sum over its ports.</summary>
    public long LoopDrops => Volatile.Read(ref _loopDrops);

    internal void Add(HubPort port)
    {
        ImmutableInterlocked.Update(ref _ports, static (ports, p) => ports.Insert(0, p), port);
        NegotiateVnetHeaders();
    }

    internal void Remove(HubPort port)
    {
        ImmutableInterlocked.Update(ref _ports, static (ports, p) => ports.Remove(p), port);
        NegotiateVnetHeaders();
    }

    /// <summary>
    /// Whether every end that a frame entering by <paramref name="except"/> reaches takes virtio-net
    /// headers: the peers of this hub's other ports and, through ports whose peer is a port of another
    /// hub, that hub's ends, and so on. Ports without a peer drop what they get, so they do not
    /// count. Hubs forward frames unchanged, so headers pass only when all ends agree. Each hub is
    /// walked once, so a loop of hubports adds nothing and ends the walk (no recursion: a chain of any
    /// length is safe).
    /// </summary>
    internal bool OthersHaveVnetHeader(HubPort except)
    {
        // Most hubs join only backends: answer without allocating when no port leads to another hub.
        var leadsToHub = false;
        foreach (var port in _ports)
        {
            if (ReferenceEquals(port, except) || port.Peer is not { } peer)
            {
                continue;
            }

            if (peer is HubPort)
            {
                leadsToHub = true;
            }
            else if (!peer.HasVnetHeader)
            {
                return false;
            }
        }

        return !leadsToHub || EndsHaveVnetHeader(except);
    }

    /// <summary>The walk of <see cref="OthersHaveVnetHeader"/> over every hub reachable from here.</summary>
    private bool EndsHaveVnetHeader(HubPort except)
    {
        var visited = new HashSet<Hub> { this };
        var pending = new Stack<(Hub Hub, HubPort Entry)>();
        pending.Push((this, except));
        while (pending.TryPop(out var next))
        {
            foreach (var port in next.Hub._ports)
            {
                if (ReferenceEquals(port, next.Entry) || port.Peer is not { } peer)
                {
                    continue;
                }

                if (peer is HubPort other)
                {
                    // Entered by 'other', whose own peer (this port) leads back where we came from.
                    if (visited.Add(other.Hub))
                    {
                        pending.Push((other.Hub, other));
                    }
                }
                else if (!peer.HasVnetHeader)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>
    /// A port or a port's peer came or went: every port of every hub joined to this one through
    /// hubports, and every end plugged into them, re-decides whether frames carry headers.
    /// </summary>
    internal void NegotiateVnetHeaders()
    {
        var visited = new HashSet<Hub> { this };
        var pending = new Stack<Hub>();
        pending.Push(this);
        while (pending.TryPop(out var hub))
        {
            foreach (var port in hub._ports)
            {
                port.NegotiateVnetHeader();
                if (port.Peer is HubPort other)
                {
                    if (visited.Add(other.Hub))
                    {
                        pending.Push(other.Hub);
                    }
                }
                else
                {
                    port.Peer?.NegotiateVnetHeader();
                }
            }
        }
    }

    /// <summary>For <see cref="NetClient.CollectHot"/>: the hub, its port list, the calling thread's walk state, and each port's path beyond (a hub reached twice is recorded once).</summary>
    internal void CollectHot(HotObjects hot)
    {
        if (!hot.AddOnce(this))
        {
            return;
        }

        var ports = _ports;
        hot.Add(ImmutableCollectionsMarshal.AsArray(ports));
        HubPath.CollectHot(hot);
        foreach (var port in ports)
        {
            port.CollectHotWithPeer(hot);
        }
    }

    /// <summary>Floods a frame from <paramref name="source"/> to every other port; the worst delivery result wins.</summary>
    internal DeliveryResult Forward(HubPort source, ReadOnlySpan<byte> frame)
    {
        var path = HubPath.Forwarding;
        if (!path.TryEnter(this))
        {
            CountLoopDrop(source);
            return DeliveryResult.Delivered;
        }

        try
        {
            var result = DeliveryResult.Delivered;
            foreach (var port in _ports)
            {
                if (ReferenceEquals(port, source))
                {
                    continue;
                }

                var r = port.Send(frame);
                if (r == DeliveryResult.Queued)
                {
                    result = DeliveryResult.Queued;
                }
            }

            return result;
        }
        finally
        {
            path.Leave();
        }
    }

    /// <summary>
    /// As <see cref="Forward"/> for a frame in pieces from <paramref name="source"/>, whose one
    /// other port is <paramref name="exit"/>: the same loop guard, the pieces sent on as they are.
    /// </summary>
    internal DeliveryResult ForwardGather(HubPort source, HubPort exit, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body1, ReadOnlySpan<byte> body2)
    {
        var path = HubPath.Forwarding;
        if (!path.TryEnter(this))
        {
            CountLoopDrop(source);
            return DeliveryResult.Delivered;
        }

        try
        {
            return exit.SendGather(head, body1, body2);
        }
        finally
        {
            path.Leave();
        }
    }

    /// <summary>Whether <paramref name="source"/> is one of exactly two ports: then every frame it takes leaves by <paramref name="exit"/> alone.</summary>
    internal bool TryGetSoleExit(HubPort source, out HubPort exit)
    {
        var ports = _ports;
        exit = null!;
        if (ports.Length != 2)
        {
            return false;
        }

        if (ReferenceEquals(ports[0], source))
        {
            exit = ports[1];
            return true;
        }

        if (ReferenceEquals(ports[1], source))
        {
            exit = ports[0];
            return true;
        }

        return false;
    }

    /// <summary>A batch from <paramref name="source"/>'s peer ended: it ends at every destination too.</summary>
    internal void ForwardBatchEnd(HubPort source) => TellOtherPeers(HubPath.BatchEnds, source, wake: false);

    /// <summary>A port's peer drained its queue: every source that may have been paused resumes.</summary>
    internal void WakeSources(HubPort drained) => TellOtherPeers(HubPath.Wakes, drained, wake: true);

    /// <summary>Tells every port's peer but <paramref name="except"/>'s that a batch ended, or to resume.</summary>
    private void TellOtherPeers(HubPath path, HubPort except, bool wake)
    {
        // Inside this hub already through hub ports (a loop): the outer walk tells every port's peer anyway.
        if (!path.TryEnter(this))
        {
            return;
        }

        try
        {
            foreach (var port in _ports)
            {
                if (ReferenceEquals(port, except) || port.Peer is not { } peer)
                {
                    continue;
                }

                // A backend's reaction (replies in a batch of its own, wakes of its own senders) is a
                // walk of its own; the next hub along a chain of hub ports is this walk going on.
                var outer = peer is HubPort ? -1 : path.EnterEnd();
                try
                {
                    if (wake)
                    {
                        peer.WakeContained();
                    }
                    else
                    {
                        peer.EndBatchContained();
                    }
                }
                finally
                {
                    if (outer >= 0)
                    {
                        path.LeaveEnd(outer);
                    }
                }
            }
        }
        finally
        {
            path.Leave();
        }
    }

    private void CountLoopDrop(HubPort entry)
    {
        entry.Stats.CountLoopDrop();
        Interlocked.Increment(ref _loopDrops);
        if (entry.FaultLogger.IsEnabled(LogLevel.Warning) && Interlocked.Exchange(ref _loopLogged, 1) == 0)
        {
            entry.FaultLogger.LogWarning(
                "hub {Hub}: a frame came back into the hub through port '{Port}' while the hub was still forwarding it (a loop of hubports) or crossed more than {Max} hubs; such frames are dropped and counted (query-netdevs: stats.loop-drops), this is logged once",
                Id,
                entry.Name,
                MaxNesting);
        }
    }
}
