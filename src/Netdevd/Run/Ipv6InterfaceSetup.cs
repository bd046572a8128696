using System.Buffers.Binary;
using Netdevd.Native;

namespace Netdevd.Run;

/// <summary>
/// An interface's IPv6 address and default route, as pasta --config-net sets them: over route
/// netlink, the address without duplicate address detection (usable the moment it is added, so
/// the namespace has IPv6 when the caller returns), the route through the router's link-local
/// address; router advertisements are not taken, as pasta sends none there (the static address
/// stays the only one, the static route the only default).
/// </summary>
internal static class Ipv6InterfaceSetup
{
    private const ushort RtmNewAddr = 20;
    private const ushort RtmNewRoute = 24;
    private const ushort NlmsgError = 2;
    private const ushort NlmFRequest = 0x1;
    private const ushort NlmFAck = 0x4;
    private const ushort NlmFExcl = 0x200;
    private const ushort NlmFCreate = 0x400;
    private const ushort IfaAddress = 1;
    private const ushort IfaLocal = 2;
    private const byte IfaFNoDad = 0x02;
    private const ushort RtaOif = 4;
    private const ushort RtaGateway = 5;
    private const byte RtTableMain = 254;
    private const byte RtProtBoot = 3;
    private const byte RtnUnicast = 1;
    private const int HeaderLength = 16;

    /// <summary>
    /// Turns off the kernel's acceptance of router advertisements on <paramref name="ifname"/>
    /// before it goes up; best effort (a read-only /proc/sys leaves the kernel's default).
    /// </summary>
    public static void IgnoreRouterAdvertisements(string ifname)
    {
        try
        {
            File.WriteAllText($"/proc/sys/net/ipv6/conf/{ifname}/accept_ra", "0");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Adds the address and the default route to <paramref name="ifname"/> (already up); null on success, else what failed.</summary>
    public static string? Configure(string ifname, Ipv6Setup setup)
    {
        var index = Libc.IfNameToIndex(ifname);
        if (index == 0)
        {
            return $"{ifname}: {Errno.Message(Errno.Last)}";
        }

        var sock = Libc.Socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, Libc.NETLINK_ROUTE);
        if (sock < 0)
        {
            return $"netlink socket: {Errno.Message(Errno.Last)}";
        }

        try
        {
            Span<byte> message = stackalloc byte[128];
            var length = AddressMessage(message, index, setup);
            if (Request(sock, message[..length]) is { } errno)
            {
                return $"could not set the IPv6 address of {ifname} to {setup.Address}/{setup.PrefixLength}: {Errno.Message(errno)}";
            }

            length = DefaultRouteMessage(message, index, setup);
            if (Request(sock, message[..length]) is { } routeErrno)
            {
                return $"could not add the IPv6 default route via {setup.Gateway}: {Errno.Message(routeErrno)}";
            }

            return null;
        }
        finally
        {
            _ = Libc.Close(sock);
        }
    }

    /// <summary>RTM_NEWADDR: ifaddrmsg, IFA_LOCAL and IFA_ADDRESS.</summary>
    private static int AddressMessage(Span<byte> m, uint index, Ipv6Setup setup)
    {
        m.Clear();
        var at = HeaderLength;
        m[at] = (byte)Libc.AF_INET6;
        m[at + 1] = (byte)setup.PrefixLength;
        m[at + 2] = IfaFNoDad;
        m[at + 3] = 0; // RT_SCOPE_UNIVERSE
        BinaryPrimitives.WriteUInt32LittleEndian(m[(at + 4)..], index);
        at += 8;
        at = Attribute(m, at, IfaLocal, setup.Address);
        at = Attribute(m, at, IfaAddress, setup.Address);
        Header(m, at, RtmNewAddr, NlmFCreate | NlmFExcl);
        return at;
    }

    /// <summary>RTM_NEWROUTE: ::/0 in the main table, RTA_GATEWAY and RTA_OIF (a link-local gateway needs its interface).</summary>
    private static int DefaultRouteMessage(Span<byte> m, uint index, Ipv6Setup setup)
    {
        m.Clear();
        var at = HeaderLength;
        m[at] = (byte)Libc.AF_INET6;
        m[at + 4] = RtTableMain;
        m[at + 5] = RtProtBoot;
        m[at + 6] = 0; // RT_SCOPE_UNIVERSE
        m[at + 7] = RtnUnicast;
        at += 12;
        at = Attribute(m, at, RtaGateway, setup.Gateway);
        BinaryPrimitives.WriteUInt16LittleEndian(m[at..], 8);
        BinaryPrimitives.WriteUInt16LittleEndian(m[(at + 2)..], RtaOif);
        BinaryPrimitives.WriteUInt32LittleEndian(m[(at + 4)..], index);
        at += 8;
        Header(m, at, RtmNewRoute, NlmFCreate | NlmFExcl);
        return at;
    }

    private static int Attribute(Span<byte> m, int at, ushort type, System.Net.IPAddress address)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(m[at..], 4 + 16);
        BinaryPrimitives.WriteUInt16LittleEndian(m[(at + 2)..], type);
        _ = address.TryWriteBytes(m.Slice(at + 4, 16), out _);
        return at + 20;
    }

    private static void Header(Span<byte> m, int length, ushort type, int flags)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(m[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(m[6..], (ushort)(NlmFRequest | NlmFAck | flags));
        BinaryPrimitives.WriteUInt32LittleEndian(m[8..], 1);
    }

    /// <summary>Sends one request and reads its acknowledgement: null when the kernel did it, else its errno.</summary>
    private static int? Request(int sock, ReadOnlySpan<byte> message)
    {
        if (Libc.Send(sock, message, 0) < 0)
        {
            return Errno.Last;
        }

        Span<byte> reply = stackalloc byte[512];
        var n = Libc.Recv(sock, reply, 0);
        if (n < 0)
        {
            return Errno.Last;
        }

        if (n < HeaderLength + 4 || BinaryPrimitives.ReadUInt16LittleEndian(reply[4..]) != NlmsgError)
        {
            return Errno.EIO;
        }

        var error = BinaryPrimitives.ReadInt32LittleEndian(reply[HeaderLength..]);
        return error == 0 ? null : -error;
    }
}
