using System.Net;
using System.Net.Sockets;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Parsing;

namespace Netdevd.Backends.Sockets;

/// <summary>
/// QEMU's old IPv4-only address helpers (convert_host_port / parse_host_port in net/net.c), used
/// by the dgram and socket netdevs, with their exact texts. Deliberately as loose as the
/// originals: ports go through strtol base 0 (so <c>0x1f90</c> and trailing junk pass) and are
/// cut to 16 bits; hosts starting with a digit go through inet_aton, others through the
/// resolver; the split of <c>host:port</c> is at the first ':'.
/// </summary>
public static class Ipv4HostPort
{
    /// <summary>parse_host_port: <c>host:port</c>.</summary>
    public static IPEndPoint Parse(string hostPort)
    {
        ArgumentNullException.ThrowIfNull(hostPort);
        var colon = hostPort.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new QapiException($"host address '{hostPort}' doesn't contain ':' separating host from port");
        }

        return Convert(hostPort[..colon], hostPort[(colon + 1)..]);
    }

    /// <summary>convert_host_port: a host (empty means 0.0.0.0) and a port string.</summary>
    public static IPEndPoint Convert(string host, string port)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(port);
        var address = ResolveHost(host);
        // qemu_strtol(port, &end, 0, ...): base 0, trailing text allowed, nothing converted or overflow fails.
        var value = CStrtol.StrToLL(port, 0, 0, out var end, out var overflow);
        if (overflow || end == 0)
        {
            throw new QapiException($"port number '{port}' is invalid");
        }

        // htons(long): only the low 16 bits survive, as in QEMU (no range check).
        return new IPEndPoint(address, (ushort)value);
    }

    /// <summary>inet_aton: the address forms QEMU accepts for literals (and for <c>localaddr</c>).</summary>
    public static bool TryParseLiteral(string text, out IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Libc.InetAton(text, out var networkOrder))
        {
            address = new IPAddress(networkOrder);
            return true;
        }

        address = IPAddress.Any;
        return false;
    }

    /// <summary>IN_MULTICAST: 224.0.0.0/4.</summary>
    public static bool IsMulticast(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> b = stackalloc byte[4];
        return address.AddressFamily == AddressFamily.InterNetwork && address.TryWriteBytes(b, out _) && (b[0] & 0xf0) == 0xe0;
    }

    /// <summary>inet_ntoa(addr) + ":" + port, as QEMU prints end points in info strings and errors.</summary>
    public static string Format(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return $"{endPoint.Address}:{endPoint.Port}";
    }

    private static IPAddress ResolveHost(string host)
    {
        if (host.Length == 0)
        {
            return IPAddress.Any;
        }

        if (char.IsAsciiDigit(host[0]))
        {
            return TryParseLiteral(host, out var literal)
                ? literal
                : throw new QapiException($"host address '{host}' is not a valid IPv4 address");
        }

        // gethostbyname: the first IPv4 address the resolver gives.
        try
        {
            foreach (var a in Dns.GetHostAddresses(host, AddressFamily.InterNetwork))
            {
                if (a.AddressFamily == AddressFamily.InterNetwork)
                {
                    return a;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
        }

        throw new QapiException($"can't resolve host address '{host}'");
    }
}
