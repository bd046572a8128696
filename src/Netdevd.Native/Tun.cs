namespace Netdevd.Native;

/// <summary>
/// Linux's tun/tap interface (include/uapi/linux/if_tun.h, Documentation/networking/tuntap.rst):
/// the ioctl numbers, interface flags and offload bits, and struct ifreq as the bytes the kernel
/// reads (16-byte name, then a union whose first member is the short flags or the int MTU).
/// </summary>
public static class Tun
{
    public const string DevicePath = "/dev/net/tun";

    // _IOW('T', n, int) = 0x40045400 | n; _IOR('T', n, unsigned int) = 0x80045400 | n.
    public const uint TUNSETIFF = 0x400454ca;
    public const uint TUNSETPERSIST = 0x400454cb;
    public const uint TUNGETFEATURES = 0x800454cf;
    public const uint TUNSETOFFLOAD = 0x400454d0;
    public const uint TUNGETIFF = 0x800454d2;
    public const uint TUNGETSNDBUF = 0x800454d3;
    public const uint TUNSETSNDBUF = 0x400454d4;
    public const uint TUNSETVNETHDRSZ = 0x400454d8;

    public const short IFF_TAP = 0x0002;
    public const short IFF_MULTI_QUEUE = 0x0100;
    public const short IFF_NO_PI = 0x1000;
    public const short IFF_ONE_QUEUE = 0x2000;
    public const short IFF_VNET_HDR = 0x4000;

    public const int TUN_F_CSUM = 0x01;
    public const int TUN_F_TSO4 = 0x02;
    public const int TUN_F_TSO6 = 0x04;
    public const int TUN_F_TSO_ECN = 0x08;
    public const int TUN_F_UFO = 0x10;

    /// <summary>sizeof(struct ifreq) on Linux.</summary>
    public const int IfReqSize = 40;

    /// <summary>IFNAMSIZ, including the terminating NUL.</summary>
    public const int NameSize = 16;

    // Interface ioctls on any socket (include/uapi/linux/sockios.h) and IFF_UP (if.h).
    public const uint SIOCGIFFLAGS = 0x8913;
    public const uint SIOCSIFFLAGS = 0x8914;
    public const uint SIOCSIFMTU = 0x8922;
    public const short IFF_UP = 0x1;

    // The classic IPv4 configuration ioctls (what slirp4netns -c uses): address, netmask, MAC, route.
    public const uint SIOCSIFADDR = 0x8916;
    public const uint SIOCSIFNETMASK = 0x891c;
    public const uint SIOCSIFHWADDR = 0x8924;
    public const uint SIOCADDRT = 0x890b;

    /// <summary>sizeof(struct rtentry) on 64-bit Linux.</summary>
    public const int RtEntrySize = 120;

    private const ushort AfInet = 2;
    private const ushort ArphrdEther = 1;
    private const ushort RtfUp = 0x1;
    private const ushort RtfGateway = 0x2;

    /// <summary>
    /// Writes a name into an ifreq, NUL-terminated as the kernel expects. A longer name is cut to
    /// 15 bytes as QEMU's tap_open cuts it (pstrcpy into IFNAMSIZ), but never inside a UTF-8
    /// sequence: the kernel would take the broken bytes, and the name could not be told back.
    /// </summary>
    public static void SetName(Span<byte> ifreq, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var field = ifreq[..NameSize];
        field.Clear();
        Span<byte> utf8 = stackalloc byte[NameSize * 4];
        var n = 0;
        var limit = NameSize - 1;
        foreach (var rune in name.EnumerateRunes())
        {
            if (!rune.TryEncodeToUtf8(utf8[n..], out var written) || n + written > limit)
            {
                break;
            }

            n += written;
        }

        utf8[..n].CopyTo(field);
    }

    /// <summary>The interface name the kernel wrote back into an ifreq.</summary>
    public static string GetName(ReadOnlySpan<byte> ifreq)
    {
        var name = ifreq[..NameSize];
        var end = name.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? name : name[..end]);
    }

    public static short GetFlags(ReadOnlySpan<byte> ifreq) => System.Buffers.Binary.BinaryPrimitives.ReadInt16LittleEndian(ifreq[NameSize..]);

    public static void SetFlags(Span<byte> ifreq, short flags) => System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(ifreq[NameSize..], flags);

    public static void SetInt(Span<byte> ifreq, int value) => System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(ifreq[NameSize..], value);

    /// <summary>Puts an IPv4 sockaddr_in (address in network order) in the ifreq's union.</summary>
    public static void SetIpv4(Span<byte> ifreq, ReadOnlySpan<byte> address) => WriteSockAddrIn(ifreq[NameSize..], address);

    /// <summary>Puts an Ethernet hardware address (ifr_hwaddr) in the ifreq's union.</summary>
    public static void SetHardwareAddress(Span<byte> ifreq, ReadOnlySpan<byte> mac)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(ifreq[NameSize..], ArphrdEther);
        mac[..6].CopyTo(ifreq[(NameSize + 2)..]);
    }

    /// <summary>A struct rtentry for a default route via <paramref name="gateway"/> (network order).</summary>
    public static void SetDefaultRoute(Span<byte> rtentry, ReadOnlySpan<byte> gateway)
    {
        // rt_pad1 (8), rt_dst (16) at 8, rt_gateway (16) at 24, rt_genmask (16) at 40, rt_flags at 56.
        rtentry.Clear();
        ReadOnlySpan<byte> any = [0, 0, 0, 0];
        WriteSockAddrIn(rtentry[8..], any);
        WriteSockAddrIn(rtentry[24..], gateway);
        WriteSockAddrIn(rtentry[40..], any);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(rtentry[56..], RtfUp | RtfGateway);
    }

    private static void WriteSockAddrIn(Span<byte> sockaddr, ReadOnlySpan<byte> address)
    {
        sockaddr[..16].Clear();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(sockaddr, AfInet);
        address[..4].CopyTo(sockaddr[4..]);
    }
}
