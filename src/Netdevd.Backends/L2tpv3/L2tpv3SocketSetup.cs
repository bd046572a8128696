using System.Globalization;
using Netdevd.Backends.Sockets;
using Netdevd.Native;
using Netdevd.Qapi.Errors;

namespace Netdevd.Backends.L2tpv3;

/// <summary>
/// The socket half of QEMU's net_init_l2tpv3, in its order and with its texts: resolve src
/// (getaddrinfo with the family and socket type of the mode), create and bind the socket,
/// resolve dst. UDP mode is a datagram socket; IP mode a raw socket of protocol 115, which
/// needs CAP_NET_RAW.
/// </summary>
internal static class L2tpv3SocketSetup
{
    /// <summary>Returns the bound, non-blocking socket and the address frames go to.</summary>
    public static (int Fd, SockAddr Destination) Open(L2tpv3Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var family = config.Layout.Ipv6 ? Libc.AF_INET6 : Libc.AF_INET;
        var (type, protocol) = config.Layout.Udp ? (Libc.SOCK_DGRAM, 0) : (Libc.SOCK_RAW, L2tpv3Config.IpProtocolL2tp);

        var rc = Libc.GetAddrInfo(config.Src, config.Srcport, family, type, protocol, out var source);
        if (rc != 0)
        {
            throw new QapiException($"could not resolve src, errno = {Libc.GaiStrError(rc)}");
        }

        var fd = Libc.Socket(source!.Family, type | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, protocol);
        if (fd < 0)
        {
            throw new QapiException(string.Create(CultureInfo.InvariantCulture, $"socket creation failed, errno = {Errno.Last}"));
        }

        try
        {
            if (Libc.Bind(fd, source) < 0)
            {
                throw new QapiException(string.Create(CultureInfo.InvariantCulture, $"could not bind socket err={Errno.Last}"));
            }

            rc = Libc.GetAddrInfo(config.Dst, config.Dstport, family, type, protocol, out var destination);
            if (rc != 0)
            {
                throw new QapiException($"could not resolve dst, error = {Libc.GaiStrError(rc)}");
            }

            return (fd, destination!);
        }
        catch
        {
            Descriptors.CloseQuietly(fd);
            throw;
        }
    }
}
