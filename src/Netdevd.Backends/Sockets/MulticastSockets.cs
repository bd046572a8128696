using System.Net;
using Netdevd.Native;
using Netdevd.Qapi.Errors;

namespace Netdevd.Backends.Sockets;

/// <summary>
/// QEMU's multicast socket (net_dgram_mcast_create / net_socket_mcast_create): bound to the
/// group's own address and port with SO_REUSEADDR so that several netdevs (and QEMUs) on one host
/// share it, member of the group on <c>localaddr</c>'s interface (or any), multicast loopback on
/// so that they see each other, and with <c>localaddr</c> also the sending interface.
/// </summary>
public static class MulticastSockets
{
    public static int Create(IPEndPoint group, IPAddress? localAddress)
    {
        ArgumentNullException.ThrowIfNull(group);
        Span<byte> groupBytes = stackalloc byte[4];
        group.Address.TryWriteBytes(groupBytes, out _);
        if (!Ipv4HostPort.IsMulticast(group.Address))
        {
            var hostOrder = (groupBytes[0] << 24) | (groupBytes[1] << 16) | (groupBytes[2] << 8) | groupBytes[3];
            throw new QapiException($"specified mcastaddr {group.Address} (0x{hostOrder:x8}) does not contain a multicast address");
        }

        var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw ErrnoText.Last("can't create datagram socket");
        }

        try
        {
            if (Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, 1) < 0)
            {
                throw ErrnoText.Last("can't set socket option SO_REUSEADDR");
            }

            if (Libc.Bind(fd, SockAddr.Inet(group)) < 0)
            {
                throw ErrnoText.Last($"can't bind ip={group.Address} to socket");
            }

            // struct ip_mreq: the group, then the interface address (INADDR_ANY: the kernel's choice).
            Span<byte> mreq = stackalloc byte[8];
            groupBytes.CopyTo(mreq);
            (localAddress ?? IPAddress.Any).TryWriteBytes(mreq[4..], out _);
            if (Libc.SetSockOpt(fd, Libc.IPPROTO_IP, Libc.IP_ADD_MEMBERSHIP, mreq) < 0)
            {
                throw ErrnoText.Last($"can't add socket to multicast group {group.Address}");
            }

            if (Libc.SetSockOptInt(fd, Libc.IPPROTO_IP, Libc.IP_MULTICAST_LOOP, 1) < 0)
            {
                throw ErrnoText.Last("can't force multicast message to loopback");
            }

            if (localAddress is not null && Libc.SetSockOpt(fd, Libc.IPPROTO_IP, Libc.IP_MULTICAST_IF, mreq[4..]) < 0)
            {
                throw ErrnoText.Last("can't set the default network send interface");
            }

            var e = Descriptors.TrySetNonBlocking(fd);
            if (e != 0)
            {
                throw ErrnoText.Error("can't set non-blocking mode", e);
            }

            return fd;
        }
        catch
        {
            Descriptors.CloseQuietly(fd);
            throw;
        }
    }
}
