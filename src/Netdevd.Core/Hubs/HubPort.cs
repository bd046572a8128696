using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Hubs;

/// <summary>A port of a <see cref="Hub"/>; its peer is the backend or NIC plugged into it.</summary>
public sealed class HubPort : NetClient
{
    internal HubPort(string name, Hub hub)
        : base(name, NetClientDriver.Hubport)
    {
        Hub = hub;
    }

    public Hub Hub { get; }

    /// <summary>Frames from the peer bypass this port's own queue: each destination queues for itself.</summary>
    internal override DeliveryResult Deliver(ReadOnlySpan<byte> frame, NetClient sender)
    {
        if (LinkDown || IsClosed || frame.Length > MaxFrameSize)
        {
            Stats.CountDrop();
            return DeliveryResult.Delivered;
        }

        Stats.ReceivedFrames++;
        Stats.ReceivedBytes += frame.Length;
        return Hub.Forward(this, frame);
    }

    /// <summary>
    /// A frame in pieces from the peer: passed on in pieces when this port's hub has one other
    /// port (then it is all the hub forwards to), else gathered and forwarded whole.
    /// </summary>
    internal override DeliveryResult DeliverGather(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body1, ReadOnlySpan<byte> body2, NetClient sender)
    {
        var length = head.Length + body1.Length + body2.Length;
        if (LinkDown || IsClosed || length > MaxFrameSize)
        {
            Stats.CountDrop();
            return DeliveryResult.Delivered;
        }

        if (!Hub.TryGetSoleExit(this, out var exit))
        {
            return DeliverWhole(head, body1, body2, sender);
        }

        Stats.ReceivedFrames++;
        Stats.ReceivedBytes += length;
        return Hub.ForwardGather(this, exit, head, body1, body2);
    }

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        // Only reached through the base Deliver, which this type overrides.
        Hub.Forward(this, frame);
        return ReceiveResult.Accepted;
    }

    /// <summary>The port's own objects, then the hub's and every other port's path (a frame through this port reaches them all).</summary>
    public override bool CollectHot(HotObjects hot)
    {
        if (!base.CollectHot(hot))
        {
            return false;
        }

        Hub.CollectHot(hot);
        return true;
    }

    protected internal override void OnPeerReady() => Hub.WakeSources(this);

    /// <summary>The peer's batch ended: every other port's peer writes what it deferred.</summary>
    protected internal override void OnBatchEnd() => Hub.ForwardBatchEnd(this);

    /// <summary>A port speaks virtio-net headers when every other end of the hub does.</summary>
    public override bool HasVnetHeader => Hub.OthersHaveVnetHeader(this);

    protected override void OnPeerChanged() => Hub.NegotiateVnetHeaders();

    protected override ValueTask CloseAsync()
    {
        Hub.Remove(this);
        return ValueTask.CompletedTask;
    }
}
