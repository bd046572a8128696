using EndPoint = System.Net.EndPoint;
using IPEndPoint = System.Net.IPEndPoint;
using System.Text;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Stream;

/// <summary>
/// Socket addresses as QEMU reports them: the QAPI <see cref="SocketAddress"/> of an endpoint
/// (socket_sockaddr_to_address) and its URI for info strings (socket_uri).
/// </summary>
internal static class SocketAddressText
{
    /// <summary>sizeof(sockaddr_un.sun_path) on Linux.</summary>
    public const int SunPathLength = 108;

    public static SocketAddress Describe(EndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        switch (endPoint)
        {
            case IPEndPoint ip:
                var v4 = ip.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
                return new SocketAddress
                {
                    Type = SocketAddressType.Inet,
                    Inet = new InetSocketAddress
                    {
                        Host = ip.Address.ToString(),
                        Port = ip.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        Ipv4 = v4 ? true : null,
                        Ipv6 = v4 ? null : true,
                    },
                };
            case VsockEndPoint vsock:
                return new SocketAddress
                {
                    Type = SocketAddressType.Vsock,
                    Vsock = new VsockSocketAddress
                    {
                        Cid = vsock.Cid.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        Port = vsock.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    },
                };
            default:
                return DescribeUnix(endPoint.Serialize());
        }
    }

    /// <summary>An unnamed unix socket (socketpair, or a peer that never bound).</summary>
    public static SocketAddress UnnamedUnix() =>
        new() { Type = SocketAddressType.Unix, Unix = new UnixSocketAddress { Path = "" } };

    /// <summary>socket_uri: <c>tcp:H:P</c>, <c>unix:PATH</c>, <c>vsock:CID:PORT</c>, <c>fd:N</c>.</summary>
    public static string Uri(SocketAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.Type switch
        {
            SocketAddressType.Inet => $"tcp:{address.Inet!.Host}:{address.Inet.Port}",
            SocketAddressType.Unix => $"unix:{address.Unix!.Path}",
            SocketAddressType.Vsock => $"vsock:{address.Vsock!.Cid}:{address.Vsock.Port}",
            SocketAddressType.Fd => $"fd:{address.Fd!.Str}",
            _ => "unknown address type",
        };
    }

    /// <summary>
    /// A sockaddr_un as QEMU decodes it: a leading NUL means an abstract name (Linux), which is
    /// "tight" when the address was shorter than the whole sun_path; the path ends at a NUL.
    /// </summary>
    private static SocketAddress DescribeUnix(System.Net.SocketAddress raw)
    {
        var pathLength = raw.Size - 2;
        var bytes = new byte[Math.Max(pathLength, 0)];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = raw[2 + i];
        }

        if (pathLength > 0 && bytes[0] == 0)
        {
            return new SocketAddress
            {
                Type = SocketAddressType.Unix,
                Unix = new UnixSocketAddress
                {
                    Path = UntilNul(bytes.AsSpan(1)),
                    Abstract = true,
                    Tight = pathLength < SunPathLength,
                },
            };
        }

        return new SocketAddress { Type = SocketAddressType.Unix, Unix = new UnixSocketAddress { Path = UntilNul(bytes) } };
    }

    private static string UntilNul(ReadOnlySpan<byte> bytes)
    {
        var end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }
}
