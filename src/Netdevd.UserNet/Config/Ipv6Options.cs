using Netdevd.Wire;

namespace Netdevd.UserNet.Config;

/// <summary>
/// QEMU's IPv6 addressing of a user netdev from its validated options (net/slirp.c): the prefix
/// (fec0::) and length (64; 0 means the default), the host and DNS addresses given, else the
/// prefix with its last byte or-ed with 2 and 3 (fec0::2, fec0::3).
/// </summary>
public static class Ipv6Options
{
    public static UserStackOptions Apply(UserNetConfig config, UserStackOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        if (!config.Ipv6Enabled)
        {
            return options with { Ipv6Enabled = false };
        }

        // The parser already ran QEMU's checks, so every text here parses.
        var prefix = Parse(config.Ipv6Prefix, options.Ipv6Prefix);
        var length = config.Ipv6PrefixLength is null or 0 ? 64 : (int)config.Ipv6PrefixLength.Value;
        var host = config.Ipv6Host is null ? prefix with { Low = prefix.Low | 2 } : Parse(config.Ipv6Host, prefix);
        var dns = config.Ipv6Dns is null ? prefix with { Low = prefix.Low | 3 } : Parse(config.Ipv6Dns, prefix);
        IReadOnlyList<string> search = config.DnsSearch.Count > 0 ? config.DnsSearch
            : config.DomainName is { Length: > 0 } domain ? [domain] : [];
        return options with
        {
            Ipv6Enabled = true,
            Ipv6Prefix = prefix,
            Ipv6PrefixLength = length,
            Ipv6Host = host,
            Ipv6Dns = dns,
            Ipv6DnsSearch = search,
            Ipv6HostLoopback = config.Ipv6HostLoopback ?? config.HostLoopback,
            Ipv6HostAlias = Ipv6Address.TryParse(config.Ipv6HostAlias, out var alias) ? alias : null,
            Ipv6DhcpAddress = Ipv6Address.TryParse(config.Ipv6DhcpAddress, out var assigned) ? assigned : null,
        };
    }

    private static Ipv6Address Parse(string? text, Ipv6Address fallback) => Ipv6Address.TryParse(text, out var a) ? a : fallback;
}
