using Netdevd.Native;

namespace Netdevd.Run;

/// <summary>Sets an interface's MTU and brings it up, with the classic interface ioctls on a datagram socket.</summary>
internal static class InterfaceSetup
{
    /// <summary>Returns null on success, else what failed with the system's text.</summary>
    public static string? Configure(string ifname, int? mtu)
    {
        var sock = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (sock < 0)
        {
            return $"socket: {Errno.Message(Errno.Last)}";
        }

        try
        {
            Span<byte> ifr = stackalloc byte[Tun.IfReqSize];
            if (mtu is { } value)
            {
                ifr.Clear();
                Tun.SetName(ifr, ifname);
                Tun.SetInt(ifr, value);
                if (Libc.IoctlBuffer(sock, Tun.SIOCSIFMTU, ifr) != 0)
                {
                    return $"could not set the MTU of {ifname} to {value}: {Errno.Message(Errno.Last)}";
                }
            }

            ifr.Clear();
            Tun.SetName(ifr, ifname);
            if (Libc.IoctlBuffer(sock, Tun.SIOCGIFFLAGS, ifr) != 0)
            {
                return $"could not read the flags of {ifname}: {Errno.Message(Errno.Last)}";
            }

            Tun.SetFlags(ifr, (short)(Tun.GetFlags(ifr) | Tun.IFF_UP));
            if (Libc.IoctlBuffer(sock, Tun.SIOCSIFFLAGS, ifr) != 0)
            {
                return $"could not bring {ifname} up: {Errno.Message(Errno.Last)}";
            }

            return null;
        }
        finally
        {
            _ = Libc.Close(sock);
        }
    }

    /// <summary>Gives <paramref name="ifname"/> its address, netmask, MAC and a default route; null on success.</summary>
    public static string? ConfigureIpv4(string ifname, Ipv4Setup setup)
    {
        var sock = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (sock < 0)
        {
            return $"socket: {Errno.Message(Errno.Last)}";
        }

        try
        {
            Span<byte> ifr = stackalloc byte[Tun.IfReqSize];
            Span<byte> address = stackalloc byte[4];
            if (setup.Mac is { } mac)
            {
                if (!TryParseMac(mac, out var bytes))
                {
                    return $"'{mac}' is not a MAC address";
                }

                ifr.Clear();
                Tun.SetName(ifr, ifname);
                Tun.SetHardwareAddress(ifr, bytes);
                if (Libc.IoctlBuffer(sock, Tun.SIOCSIFHWADDR, ifr) != 0)
                {
                    return $"could not set the MAC address of {ifname}: {Errno.Message(Errno.Last)}";
                }
            }

            _ = setup.Address.TryWriteBytes(address, out _);
            ifr.Clear();
            Tun.SetName(ifr, ifname);
            Tun.SetIpv4(ifr, address);
            if (Libc.IoctlBuffer(sock, Tun.SIOCSIFADDR, ifr) != 0)
            {
                return $"could not set the address of {ifname} to {setup.Address}: {Errno.Message(Errno.Last)}";
            }

            var mask = setup.PrefixLength == 0 ? 0u : uint.MaxValue << (32 - setup.PrefixLength);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(address, mask);
            ifr.Clear();
            Tun.SetName(ifr, ifname);
            Tun.SetIpv4(ifr, address);
            if (Libc.IoctlBuffer(sock, Tun.SIOCSIFNETMASK, ifr) != 0)
            {
                return $"could not set the netmask of {ifname}: {Errno.Message(Errno.Last)}";
            }

            // The route needs the interface up: the kernel refuses a gateway it cannot reach.
            if (Configure(ifname, null) is { } down)
            {
                return down;
            }

            Span<byte> route = stackalloc byte[Tun.RtEntrySize];
            _ = setup.Gateway.TryWriteBytes(address, out _);
            Tun.SetDefaultRoute(route, address);
            if (Libc.IoctlBuffer(sock, Tun.SIOCADDRT, route) != 0)
            {
                return $"could not add the default route via {setup.Gateway}: {Errno.Message(Errno.Last)}";
            }

            return null;
        }
        finally
        {
            _ = Libc.Close(sock);
        }
    }

    private static bool TryParseMac(string text, out byte[] mac)
    {
        mac = new byte[6];
        var parts = text.Split(':');
        if (parts.Length != 6)
        {
            return false;
        }

        for (var i = 0; i < 6; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out mac[i]))
            {
                return false;
            }
        }

        return true;
    }
}
