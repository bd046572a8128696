using System.Globalization;
using System.Net;

namespace Netdevd.Run;

/// <summary>
/// The static IPv4 configuration an interface gets inside its namespace (slirp4netns -c, pasta
/// --config-net): address/prefix, default gateway, optionally a MAC address. It travels to the
/// namespace's inside half as one argument: <c>ADDR/PREFIX,GATEWAY[,MAC]</c>.
/// </summary>
internal sealed record Ipv4Setup(IPAddress Address, int PrefixLength, IPAddress Gateway, string? Mac)
{
    public string Encode() =>
        string.Create(CultureInfo.InvariantCulture, $"{Address}/{PrefixLength},{Gateway}") + (Mac is null ? string.Empty : "," + Mac);

    public static Ipv4Setup? Decode(string text)
    {
        var parts = text.Split(',');
        var slash = parts[0].IndexOf('/', StringComparison.Ordinal);
        if (parts.Length is < 2 or > 3 || slash < 0
            || !IPAddress.TryParse(parts[0].AsSpan(0, slash), out var address)
            || !int.TryParse(parts[0].AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
            || !IPAddress.TryParse(parts[1], out var gateway))
        {
            return null;
        }

        return new Ipv4Setup(address, prefix, gateway, parts.Length == 3 ? parts[2] : null);
    }
}
