namespace Netdevd.Wire;

/// <summary>IPv6 next-header values of extension headers (IANA "IPv6 Extension Header Types").</summary>
public static class Ipv6ExtensionHeader
{
    public const byte HopByHop = 0;
    public const byte Routing = 43;
    public const byte Fragment = 44;
    public const byte EncapsulatingSecurityPayload = 50;
    public const byte Authentication = 51;
    public const byte NoNextHeader = 59;
    public const byte DestinationOptions = 60;
    public const byte Mobility = 135;
    public const byte HostIdentity = 139;
    public const byte Shim6 = 140;
}
