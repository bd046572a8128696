namespace Netdevd.Native;

/// <summary>The vhost and vhost-vdpa ioctl requests (linux/vhost.h) a vhost-vdpa netdev asks first.</summary>
public static class VhostVdpaIoctl
{
    /// <summary>_IOR(VHOST_VIRTIO, 0x00, __u64): the device's virtio feature bits.</summary>
    public const uint GetFeatures = 0x8008AF00;

    /// <summary>_IOR(VHOST_VIRTIO, 0x73, struct vhost_vdpa_config): a slice of the device's config space.</summary>
    public const uint GetConfig = 0x8008AF73;

    /// <summary>_IOR(VHOST_VIRTIO, 0x78, struct vhost_vdpa_iova_range): the addresses the device can map.</summary>
    public const uint GetIovaRange = 0x8010AF78;

    /// <summary>VIRTIO_NET_F_CTRL_VQ: a control virtqueue beside the data queues.</summary>
    public const int NetFeatureControlQueue = 17;

    /// <summary>VIRTIO_NET_F_MQ: several queue pairs; their number is in the config space.</summary>
    public const int NetFeatureMultiQueue = 22;

    /// <summary>offsetof(struct virtio_net_config, max_virtqueue_pairs).</summary>
    public const int MaxQueuePairsOffset = 8;
}
