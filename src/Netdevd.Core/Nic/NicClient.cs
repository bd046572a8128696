using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Nic;

/// <summary>
/// A NIC model's end of a link, for embedders (emulators, test rigs): frames the netdev
/// delivers reach <see cref="FrameHandler"/>; <see cref="Transmit"/> sends one to the netdev.
/// </summary>
public sealed class NicClient : NetClient
{
    private readonly FrameHandler _onFrame;

    public NicClient(string name, FrameHandler onFrame)
        : base(name, NetClientDriver.Nic)
    {
        ArgumentNullException.ThrowIfNull(onFrame);
        _onFrame = onFrame;
    }

    /// <summary>Sends a frame to the peer netdev.</summary>
    public DeliveryResult Transmit(ReadOnlySpan<byte> frame) => Send(frame);

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        _onFrame(frame);
        return ReceiveResult.Accepted;
    }
}
