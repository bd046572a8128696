using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Netdevd.Run;

/// <summary>
/// The static IPv6 configuration an interface gets inside its namespace (pasta --config-net):
/// address/prefix and the default route's gateway (the router's link-local address). It travels
/// to the namespace's inside half as one argument: <c>ADDR/PREFIX,GATEWAY</c>.
/// </summary>
internal sealed record Ipv6Setup(IPAddress Address, int PrefixLength, IPAddress Gateway)
{
    public string Encode() => string.Create(CultureInfo.InvariantCulture, $"{Address}/{PrefixLength},{Gateway}");

    public static Ipv6Setup? Decode(string text)
    {
        var parts = text.Split(',');
        var slash = parts[0].IndexOf('/', StringComparison.Ordinal);
        if (parts.Length != 2 || slash < 0
            || !IPAddress.TryParse(parts[0].AsSpan(0, slash), out var address) || address.AddressFamily != AddressFamily.InterNetworkV6
            || !int.TryParse(parts[0].AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix > 128
            || !IPAddress.TryParse(parts[1], out var gateway) || gateway.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return null;
        }

        return new Ipv6Setup(address, prefix, gateway);
    }
}
