using Netdevd.Backends.VhostUser.Protocol;

namespace Netdevd.Backends.VhostUser.Frontend;

/// <summary>
/// The virtio-net features the front-end drives, and what makes its frames header-capable on a
/// hub: the same offloads a vnet_hdr tap asks for (checksum, TSO4/6, ECN), both directions.
/// </summary>
internal static class FrontendFeatures
{
    private static readonly ulong s_offloads =
        VirtioFeatures.Bit(VirtioFeatures.NetCsum) | VirtioFeatures.Bit(VirtioFeatures.NetGuestCsum)
        | VirtioFeatures.Bit(VirtioFeatures.NetGuestTso4) | VirtioFeatures.Bit(VirtioFeatures.NetGuestTso6) | VirtioFeatures.Bit(VirtioFeatures.NetGuestEcn)
        | VirtioFeatures.Bit(VirtioFeatures.NetHostTso4) | VirtioFeatures.Bit(VirtioFeatures.NetHostTso6) | VirtioFeatures.Bit(VirtioFeatures.NetHostEcn);

    /// <summary>What the front-end acks of <paramref name="device"/>'s features.</summary>
    public static ulong Choose(ulong device, int queuePairs)
    {
        var wanted = VirtioFeatures.Bit(VirtioFeatures.Version1) | VirtioFeatures.Bit(VirtioFeatures.NetMrgRxbuf)
            | VirtioFeatures.Bit(VirtioFeatures.RingEventIdx) | VirtioFeatures.Bit(VirtioFeatures.VhostUserProtocolFeatures) | s_offloads;
        if (queuePairs > 1)
        {
            wanted |= VirtioFeatures.Bit(VirtioFeatures.NetMq);
        }

        var acked = device & wanted;

        // virtio's dependencies: segmentation needs the checksum offload of the same direction, ECN needs a TSO.
        if (!VirtioFeatures.Has(acked, VirtioFeatures.NetGuestCsum))
        {
            acked &= ~(VirtioFeatures.Bit(VirtioFeatures.NetGuestTso4) | VirtioFeatures.Bit(VirtioFeatures.NetGuestTso6) | VirtioFeatures.Bit(VirtioFeatures.NetGuestEcn));
        }

        if (!VirtioFeatures.Has(acked, VirtioFeatures.NetCsum))
        {
            acked &= ~(VirtioFeatures.Bit(VirtioFeatures.NetHostTso4) | VirtioFeatures.Bit(VirtioFeatures.NetHostTso6) | VirtioFeatures.Bit(VirtioFeatures.NetHostEcn));
        }

        return acked;
    }

    private static readonly ulong s_headerOffloads = s_offloads
        & ~(VirtioFeatures.Bit(VirtioFeatures.NetGuestEcn) | VirtioFeatures.Bit(VirtioFeatures.NetHostEcn));

    /// <summary>
    /// Whether frames with a virtio-net header can pass between the hub and the back-end: checksum
    /// and TSO4/6 both ways. ECN is not required: a super-frame whose CWR the device cannot
    /// carry loses only its ECN flag (<see cref="FrontendSession"/>), and a Linux receiver that
    /// segments it clears CWR after the first segment anyway, as the flag asks.
    /// </summary>
    public static bool CarriesOffloads(ulong acked) => (acked & s_headerOffloads) == s_headerOffloads;
}
