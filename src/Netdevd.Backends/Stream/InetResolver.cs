using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Stream;

/// <summary>
/// getaddrinfo as QEMU's inet_listen_saddr / inet_parse_connect_saddr call it, with its error
/// texts: the family matrix of ipv4=/ipv6=, wildcard for an empty listen host, numeric ports.
/// </summary>
internal static class InetResolver
{
    /// <summary>inet_ai_family_from_address.</summary>
    public static AddressFamily Family(InetSocketAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var (v4, v6) = (address.Ipv4, address.Ipv6);
        if (v4 == false && v6 == false)
        {
            throw new SocketSetupException("Cannot disable IPv4 and IPv6 at same time");
        }

        if (v4 == true && v6 == true)
        {
            return address.Host.Length == 0 ? AddressFamily.InterNetworkV6 : AddressFamily.Unspecified;
        }

        if (v6 == true || v4 == false)
        {
            return AddressFamily.InterNetworkV6;
        }

        return v4 == true || v6 == false ? AddressFamily.InterNetwork : AddressFamily.Unspecified;
    }

    /// <summary>The numeric port, or getaddrinfo's EAI_SERVICE text.</summary>
    public static int Port(InetSocketAddress address)
    {
        if (int.TryParse(address.Port, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535)
        {
            return port;
        }

        throw Failure(address, "Servname not supported for ai_socktype");
    }

    /// <summary>Addresses to bind (AI_PASSIVE): glibc puts 0.0.0.0 before :: for an empty host.</summary>
    public static IPAddress[] Passive(InetSocketAddress address, AddressFamily family)
    {
        if (address.Host.Length == 0)
        {
            return family switch
            {
                AddressFamily.InterNetwork => [IPAddress.Any],
                AddressFamily.InterNetworkV6 => [IPAddress.IPv6Any],
                _ => [IPAddress.Any, IPAddress.IPv6Any],
            };
        }

        return Lookup(address, family);
    }

    /// <summary>Addresses to try in turn for a connect.</summary>
    public static IPAddress[] Active(InetSocketAddress address, AddressFamily family)
    {
        if (address.Host.Length == 0)
        {
            throw Failure(address, "Name or service not known");
        }

        return Lookup(address, family);
    }

    private static IPAddress[] Lookup(InetSocketAddress address, AddressFamily family)
    {
        if (IPAddress.TryParse(address.Host, out var literal))
        {
            if (family == AddressFamily.InterNetworkV6 && literal.AddressFamily == AddressFamily.InterNetwork)
            {
                literal = literal.MapToIPv6();
            }
            else if (family == AddressFamily.InterNetwork && literal.AddressFamily == AddressFamily.InterNetworkV6)
            {
                throw Failure(address, "Address family for hostname not supported");
            }

            return [literal];
        }

        if (address.Numeric == true)
        {
            throw Failure(address, "Name or service not known");
        }

        try
        {
            var found = Dns.GetHostAddresses(address.Host, family);
            if (found.Length == 0)
            {
                throw Failure(address, "No address associated with hostname");
            }

            return found;
        }
        catch (SocketException e)
        {
            throw Failure(address, e.SocketErrorCode switch
            {
                SocketError.HostNotFound => "Name or service not known",
                SocketError.TryAgain => "Temporary failure in name resolution",
                SocketError.NoData => "No address associated with hostname",
                _ => e.Message,
            });
        }
    }

    private static SocketSetupException Failure(InetSocketAddress address, string reason) =>
        new($"address resolution failed for {address.Host}:{address.Port}: {reason}");
}
