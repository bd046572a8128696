using Netdevd.Backends.VhostUser.Protocol;

namespace Netdevd.Backends.VhostUser;

/// <summary>What the back-end offers in GET_FEATURES and GET_PROTOCOL_FEATURES.</summary>
internal static class VhostUserBackendFeatures
{
    /// <summary>
    /// VERSION_1, MRG_RXBUF, EVENT_IDX, STATUS and RING_PACKED always (indirect descriptors in
    /// neither layout); MQ with more than one queue pair; the
    /// checksum and TSO offloads only when the netdev's link carries virtio-net headers (a tap with
    /// vnet_hdr, a hub whose other ports all can), so offloaded frames stay offloaded end to end.
    /// </summary>
    public static ulong Offered(bool offloads, int queuePairs)
    {
        var features = VirtioFeatures.Bit(VirtioFeatures.Version1)
            | VirtioFeatures.Bit(VirtioFeatures.NetMrgRxbuf)
            | VirtioFeatures.Bit(VirtioFeatures.RingEventIdx)
            | VirtioFeatures.Bit(VirtioFeatures.NetStatus)
            | VirtioFeatures.Bit(VirtioFeatures.RingPacked)
            | VirtioFeatures.Bit(VirtioFeatures.VhostUserProtocolFeatures);
        if (queuePairs > 1)
        {
            features |= VirtioFeatures.Bit(VirtioFeatures.NetMq);
        }

        if (offloads)
        {
            features |= VirtioFeatures.Bit(VirtioFeatures.NetCsum)
                | VirtioFeatures.Bit(VirtioFeatures.NetGuestCsum)
                | VirtioFeatures.Bit(VirtioFeatures.NetHostTso4)
                | VirtioFeatures.Bit(VirtioFeatures.NetHostTso6)
                | VirtioFeatures.Bit(VirtioFeatures.NetGuestTso4)
                | VirtioFeatures.Bit(VirtioFeatures.NetGuestTso6);
        }

        return features;
    }

    /// <summary>MQ (GET_QUEUE_NUM), REPLY_ACK and RARP (SEND_RARP after migration).</summary>
    public static ulong ProtocolOffered =>
        VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.Mq)
        | VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.ReplyAck)
        | VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.Rarp);
}
