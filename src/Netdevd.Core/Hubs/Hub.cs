using System.Collections.Immutable;
using Netdevd.Core.Clients;

namespace Netdevd.Core.Hubs;

/// <summary>
/// QEMU's hub (net/hub.c): a frame that one port receives from its peer leaves by every
/// other port to that port's peer. No learning, no loop protection, never back to the source.
/// </summary>
/// <remarks>
/// The port list is an immutable snapshot swapped on add/remove, so forwarding takes no lock
/// and never allocates. Newest port first, as QEMU iterates.
/// </remarks>
public sealed class Hub
{
    private ImmutableArray<HubPort> _ports = [];

    internal Hub(int id) => Id = id;

    public int Id { get; }

    public ImmutableArray<HubPort> Ports => _ports;

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
    /// Whether every port other than <paramref name="except"/> that has a peer has one that takes
    /// virtio-net headers. Ports without a peer drop what they get, so they do not count. The hub
    /// forwards frames unchanged, so headers pass through it only when all its ends agree.
    /// </summary>
    internal bool OthersHaveVnetHeader(HubPort except)
    {
        foreach (var port in _ports)
        {
            if (!ReferenceEquals(port, except) && port.Peer is { } peer && !peer.HasVnetHeader)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A port or a port's peer came or went: every port's link re-decides whether frames carry headers.</summary>
    internal void NegotiateVnetHeaders()
    {
        foreach (var port in _ports)
        {
            port.NegotiateVnetHeader();
            port.Peer?.NegotiateVnetHeader();
        }
    }

    /// <summary>Floods a frame from <paramref name="source"/> to every other port; the worst delivery result wins.</summary>
    internal DeliveryResult Forward(HubPort source, ReadOnlySpan<byte> frame)
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

    /// <summary>A batch from <paramref name="source"/>'s peer ended: it ends at every destination too.</summary>
    internal void ForwardBatchEnd(HubPort source)
    {
        foreach (var port in _ports)
        {
            if (!ReferenceEquals(port, source))
            {
                port.Peer?.OnBatchEnd();
            }
        }
    }

    /// <summary>A port's peer drained its queue: every source that may have been paused resumes.</summary>
    internal void WakeSources(HubPort drained)
    {
        foreach (var port in _ports)
        {
            if (!ReferenceEquals(port, drained))
            {
                port.Peer?.OnPeerReady();
            }
        }
    }
}
