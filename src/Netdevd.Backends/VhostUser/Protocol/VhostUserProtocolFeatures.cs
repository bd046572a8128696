namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>Bits of GET/SET_PROTOCOL_FEATURES (vhost-user.rst, "Protocol features").</summary>
public static class VhostUserProtocolFeatures
{
    public const int Mq = 0;
    public const int LogShmfd = 1;
    public const int Rarp = 2;
    public const int ReplyAck = 3;
    public const int NetMtu = 4;
    public const int BackendReq = 5;
    public const int CrossEndian = 6;
    public const int Config = 9;
    public const int HostNotifier = 11;
    public const int InflightShmfd = 12;
    public const int ResetDevice = 13;
    public const int InbandNotifications = 14;
    public const int ConfigureMemSlots = 15;
    public const int Status = 16;

    public static ulong Bit(int bit) => 1UL << bit;
}
