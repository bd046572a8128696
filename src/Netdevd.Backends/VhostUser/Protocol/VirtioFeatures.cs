namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// Feature bits of virtio (the transport-independent ones) and virtio-net (virtio 1.2, 5.1.3),
/// plus vhost-user's own bit 30 that says the back-end speaks protocol features.
/// </summary>
public static class VirtioFeatures
{
    public const int NetCsum = 0;
    public const int NetGuestCsum = 1;
    public const int NetMtu = 3;
    public const int NetMac = 5;
    public const int NetGuestTso4 = 7;
    public const int NetGuestTso6 = 8;
    public const int NetGuestEcn = 9;
    public const int NetGuestUfo = 10;
    public const int NetHostTso4 = 11;
    public const int NetHostTso6 = 12;
    public const int NetHostEcn = 13;
    public const int NetHostUfo = 14;
    public const int NetMrgRxbuf = 15;
    public const int NetStatus = 16;
    public const int NetCtrlVq = 17;
    public const int NetMq = 22;
    public const int NetGuestAnnounce = 21;
    public const int RingIndirectDesc = 28;
    public const int RingEventIdx = 29;

    /// <summary>VHOST_USER_F_PROTOCOL_FEATURES: GET/SET_PROTOCOL_FEATURES exist.</summary>
    public const int VhostUserProtocolFeatures = 30;
    public const int Version1 = 32;
    public const int AccessPlatform = 33;
    public const int RingPacked = 34;

    public static ulong Bit(int bit) => 1UL << bit;

    public static bool Has(ulong features, int bit) => (features & (1UL << bit)) != 0;
}
