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
}
