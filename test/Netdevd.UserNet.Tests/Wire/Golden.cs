namespace Netdevd.UserNet.Tests.Wire;

/// <summary>Reference frames computed independently (Python struct + RFC 1071) and cross-checked by PacketDotNet.</summary>
internal static class Golden
{
    /// <summary>52:54:00:12:34:56 10.0.2.15:1234 -> 52:55:00:00:02:02 10.0.2.3:53, DF, id 0x1234, "hello".</summary>
    public const string Udp =
        "525500000202525400123456 0800" +
        "4500002112344000401110870a00020f0a000203" +
        "04d20035000d9ee9 68656c6c6f";

    /// <summary>SYN 10.0.2.15:40000 -> 10.0.2.2:80, seq 0x01020304, MSS 1460, SACK-ok, TS 1/0, WS 7.</summary>
    public const string TcpSyn =
        "525500000202525400123456 0800" +
        "4500003c12344000400610780a00020f0a000202" +
        "9c40005001020304 00000000 a002 faf0 9467 0000" +
        "020405b4 0402 080a0000000100000000 01030307";

    /// <summary>Echo request id 0x42 seq 7 "abcdefgh" 10.0.2.15 -> 10.0.2.2.</summary>
    public const string IcmpEcho =
        "525500000202525400123456 0800" +
        "4500002412344000400110950a00020f0a000202" +
        "0800 6621 0042 0007 6162636465666768";

    /// <summary>Who-has 10.0.2.2 tell 10.0.2.15, broadcast.</summary>
    public const string ArpRequest =
        "ffffffffffff525400123456 0806" +
        "0001 0800 06 04 0001 525400123456 0a00020f 000000000000 0a000202";

    public static readonly Netdevd.Wire.MacAddress GuestMac = Netdevd.Wire.MacAddress.Create(0x52, 0x54, 0, 0x12, 0x34, 0x56);
    public static readonly Netdevd.Wire.MacAddress HostMac = Netdevd.Wire.MacAddress.Create(0x52, 0x55, 0, 0, 2, 2);
    public static readonly Netdevd.Wire.Ipv4Address Guest = Netdevd.Wire.Ipv4Address.Create(10, 0, 2, 15);
    public static readonly Netdevd.Wire.Ipv4Address Host = Netdevd.Wire.Ipv4Address.Create(10, 0, 2, 2);
    public static readonly Netdevd.Wire.Ipv4Address Dns = Netdevd.Wire.Ipv4Address.Create(10, 0, 2, 3);
}
