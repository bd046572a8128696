using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.Wire;

namespace Netdevd.UserNet.Config;

/// <summary>
/// Turns <see cref="NetdevUserOptions"/> into a <see cref="UserNetConfig"/> the way QEMU's
/// net_init_slirp/net_slirp_init do: same defaults, same derivations, same checks in the same
/// order, same texts (a <see cref="QapiException"/> of class GenericError).
/// </summary>
public static class UserNetConfigParser
{
    public static UserNetConfig Parse(NetdevUserOptions options, string? resolvConfPath = null, string? smbdPath = null)
    {
        ArgumentNullException.ThrowIfNull(options);

        // net_init_slirp: an explicit ipv6=on alone means IPv6-only, ipv4=on alone IPv4-only.
        var ipv4 = options.Ipv4 ?? !(options.Ipv6 == true);
        var ipv6 = options.Ipv6 ?? !(options.Ipv4 == true);

        // The legacy 'ip' is net=<ip>/24.
        var vnetwork = options.Net ?? (options.Ip is { } ip ? ip + "/24" : null);

        if (!ipv4 && (vnetwork is not null || options.Host is not null || options.Dns is not null))
        {
            throw QapiErrors.Generic("IPv4 disabled but netmask/host/dns provided");
        }

        if (!ipv6 && (options.Ipv6Prefix is not null || options.Ipv6Host is not null || options.Ipv6Dns is not null))
        {
            throw QapiErrors.Generic("IPv6 disabled but prefix/host6/dns6 provided");
        }

        if (!ipv6 && (options.Ipv6HostAlias is not null || options.Ipv6HostLoopback is not null))
        {
            throw QapiErrors.Generic("IPv6 disabled but ipv6-host-alias/ipv6-host-loopback provided");
        }

        if (!ipv6 && options.Ipv6DhcpAddress is not null)
        {
            throw QapiErrors.Generic("IPv6 disabled but ipv6-dhcp-address provided");
        }

        if (!ipv4 && !ipv6)
        {
            throw QapiErrors.Generic("IPv4 and IPv6 disabled");
        }

        var restrict = options.Restrict ?? false;
        var net = Ipv4Address.Create(10, 0, 2, 0);
        var mask = Ipv4Address.Create(255, 255, 255, 0);
        var host = Ipv4Address.Create(10, 0, 2, 2);
        var dhcp = Ipv4Address.Create(10, 0, 2, 15);
        var dns = Ipv4Address.Create(10, 0, 2, 3);

        if (vnetwork is not null)
        {
            (net, mask) = ParseNetwork(vnetwork);
            net = net.And(mask);
            host = new Ipv4Address(net.Value | (0x0202u & ~mask.Value));
            dhcp = new Ipv4Address(net.Value | (0x020Fu & ~mask.Value));
            dns = new Ipv4Address(net.Value | (0x0203u & ~mask.Value));
        }

        if (options.Host is not null && !InetAton.TryParse(options.Host, out host))
        {
            throw QapiErrors.Generic("Failed to parse host");
        }

        if (host.And(mask) != net)
        {
            throw QapiErrors.Generic("Host doesn't belong to network");
        }

        if (options.Dns is not null && !InetAton.TryParse(options.Dns, out dns))
        {
            throw QapiErrors.Generic("Failed to parse DNS");
        }

        if (restrict && dns.And(mask) != net)
        {
            throw QapiErrors.Generic("DNS doesn't belong to network");
        }

        if (dns == host)
        {
            throw QapiErrors.Generic("DNS must be different from host");
        }

        if (options.Dhcpstart is not null && !InetAton.TryParse(options.Dhcpstart, out dhcp))
        {
            throw QapiErrors.Generic("Failed to parse DHCP start address");
        }

        if (dhcp.And(mask) != net)
        {
            throw QapiErrors.Generic("DHCP doesn't belong to network");
        }

        if (dhcp == host || dhcp == dns)
        {
            throw QapiErrors.Generic("DHCP must be different from host and DNS");
        }

        Ipv4Address? smb = null;
        if (options.Smbserver is not null)
        {
            if (!InetAton.TryParse(options.Smbserver, out var s))
            {
                throw QapiErrors.Generic("Failed to parse SMB address");
            }

            smb = s;
        }

        CheckIpv6(options, restrict);

        if (options.Domainname is { } domain && domain.Length == 0)
        {
            throw QapiErrors.Generic("'domainname' parameter cannot be empty");
        }

        if (options.Domainname is { } d2 && System.Text.Encoding.UTF8.GetByteCount(d2) > 255)
        {
            throw QapiErrors.Generic("'domainname' parameter cannot exceed 255 bytes");
        }

        if (options.Hostname is { } hn && System.Text.Encoding.UTF8.GetByteCount(hn) > 255)
        {
            throw QapiErrors.Generic("'vhostname' parameter cannot exceed 255 bytes");
        }

        if (options.TftpServerName is { } tsn && System.Text.Encoding.UTF8.GetByteCount(tsn) > 255)
        {
            throw QapiErrors.Generic("'tftp-server-name' parameter cannot exceed 255 bytes");
        }

        Ipv4Address? hostAlias = null;
        if (options.HostAlias is { } aliasText)
        {
            if (!ipv4 || !InetAton.TryParse(aliasText, out var alias))
            {
                throw QapiErrors.Generic(ipv4 ? "Failed to parse host-alias" : "IPv4 disabled but host-alias provided");
            }

            if (alias.And(mask) == net || alias == dns)
            {
                throw QapiErrors.Generic("host-alias must be outside the network and different from DNS");
            }

            hostAlias = alias;
        }

        if (options.Mtu is { } mtu && mtu is < 68 or > 65520)
        {
            throw QapiErrors.Generic("mtu must be 68 to 65520");
        }

        var dnsHosts = new List<Services.Dns.DnsHostEntry>();
        foreach (var entry in ToList(options.DnsHost))
        {
            dnsHosts.Add(Services.Dns.DnsHostEntry.Parse(entry));
        }

        return new UserNetConfig
        {
            Ipv4Enabled = ipv4,
            Ipv6Enabled = ipv6,
            Restrict = restrict,
            HostLoopback = options.HostLoopback ?? true,
            Network = net,
            Netmask = mask,
            Host = host,
            Dns = dns,
            DhcpStart = dhcp,
            HostAlias = hostAlias,
            Mtu = options.Mtu is { } m ? (int)m : null,
            Hostname = options.Hostname,
            DomainName = options.Domainname,
            DnsSearch = ToList(options.Dnssearch),
            TftpRoot = options.Tftp,
            BootFile = options.Bootfile,
            TftpServerName = options.TftpServerName,
            SmbServer = smb,
            SmbExport = options.Smb,
            SmbdPath = smbdPath ?? Netdevd.UserNet.Host.SmbServer.DefaultSmbd,
            HostForwards = ToList(options.Hostfwd),
            GuestForwards = ToList(options.Guestfwd),
            ResolvConfPath = resolvConfPath ?? UserNetConfig.DefaultResolvConfPath,
            DnsHosts = dnsHosts,
            Ipv6Prefix = options.Ipv6Prefix,
            Ipv6PrefixLength = options.Ipv6Prefixlen,
            Ipv6Host = options.Ipv6Host,
            Ipv6Dns = options.Ipv6Dns,
            Ipv6HostLoopback = options.Ipv6HostLoopback,
            Ipv6HostAlias = options.Ipv6HostAlias,
            Ipv6DhcpAddress = options.Ipv6DhcpAddress,
        };
    }

    /// <summary>QEMU's IPv6 checks (prefix, length, host, DNS), in its order; the values are used by the IPv6 stage.</summary>
    private static void CheckIpv6(NetdevUserOptions options, bool restrict)
    {
        if (!System.Net.IPAddress.TryParse(options.Ipv6Prefix ?? "fec0::", out var prefix) ||
            prefix.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            throw QapiErrors.Generic("Failed to parse IPv6 prefix");
        }

        var len = options.Ipv6Prefixlen is null or 0 ? 64 : options.Ipv6Prefixlen.Value;
        if (len < 0 || len > 126)
        {
            throw QapiErrors.Generic("Invalid IPv6 prefix provided (IPv6 prefix length must be between 0 and 126)");
        }

        if (options.Ipv6Host is { } h6)
        {
            if (!TryParseV6(h6, out var host6))
            {
                throw QapiErrors.Generic("Failed to parse IPv6 host");
            }

            if (!SamePrefix(prefix, host6, (int)len))
            {
                throw QapiErrors.Generic("IPv6 Host doesn't belong to network");
            }
        }

        if (options.Ipv6Dns is { } d6)
        {
            if (!TryParseV6(d6, out var dns6))
            {
                throw QapiErrors.Generic("Failed to parse IPv6 DNS");
            }

            if (restrict && !SamePrefix(prefix, dns6, (int)len))
            {
                throw QapiErrors.Generic("IPv6 DNS doesn't belong to network");
            }
        }

        CheckIpv6HostAlias(options, prefix);
        CheckIpv6DhcpAddress(options, prefix, (int)len);
    }

    /// <summary>
    /// ipv6-dhcp-address: a unicast address inside the prefix (the guest reaches everything else
    /// through the router, and the RA's prefix is what makes it on-link), neither the virtual host,
    /// the DNS address nor the host alias, each as given or defaulted.
    /// </summary>
    private static void CheckIpv6DhcpAddress(NetdevUserOptions options, System.Net.IPAddress prefix, int length)
    {
        if (options.Ipv6DhcpAddress is not { } text)
        {
            return;
        }

        if (!TryParseV6(text, out var address) || address.Equals(System.Net.IPAddress.IPv6Any) || address.IsIPv6Multicast)
        {
            throw QapiErrors.Generic("Failed to parse ipv6-dhcp-address");
        }

        if (!SamePrefix(prefix, address, length))
        {
            throw QapiErrors.Generic("ipv6-dhcp-address doesn't belong to network");
        }

        var (host, dns) = HostAndDns(options, prefix);
        var alias = options.Ipv6HostAlias is { } a && TryParseV6(a, out var given) ? given : null;
        if (address.Equals(host) || address.Equals(dns) || address.Equals(alias))
        {
            throw QapiErrors.Generic("ipv6-dhcp-address must be different from IPv6 host, DNS and ipv6-host-alias");
        }
    }

    /// <summary>The IPv6 host and DNS addresses as given, else the prefix with ::2 and ::3 (QEMU's defaults).</summary>
    private static (System.Net.IPAddress Host, System.Net.IPAddress Dns) HostAndDns(NetdevUserOptions options, System.Net.IPAddress prefix)
    {
        var defaultHost = prefix.GetAddressBytes();
        defaultHost[15] |= 2;
        var defaultDns = prefix.GetAddressBytes();
        defaultDns[15] |= 3;
        var host = options.Ipv6Host is { } h && TryParseV6(h, out var given) ? given : new System.Net.IPAddress(defaultHost);
        var dns = options.Ipv6Dns is { } d && TryParseV6(d, out var givenDns) ? givenDns : new System.Net.IPAddress(defaultDns);
        return (host, dns);
    }

    /// <summary>
    /// ipv6-host-alias: a unicast IPv6 address (in the prefix or outside it) that is neither the
    /// virtual host nor the DNS address, each as given or defaulted (prefix ::2 and ::3).
    /// </summary>
    private static void CheckIpv6HostAlias(NetdevUserOptions options, System.Net.IPAddress prefix)
    {
        if (options.Ipv6HostAlias is not { } text)
        {
            return;
        }

        if (!TryParseV6(text, out var alias) || alias.Equals(System.Net.IPAddress.IPv6Any) || alias.Equals(System.Net.IPAddress.IPv6Loopback) ||
            alias.IsIPv6Multicast || alias.IsIPv4MappedToIPv6)
        {
            throw QapiErrors.Generic("Failed to parse ipv6-host-alias");
        }

        var (host, dns) = HostAndDns(options, prefix);
        if (alias.Equals(host) || alias.Equals(dns) || (IsLinkLocal64(alias) && (SameIdentifier(alias, host) || SameIdentifier(alias, dns))))
        {
            throw QapiErrors.Generic("ipv6-host-alias must differ from the IPv6 host and DNS addresses");
        }
    }

    private static bool IsLinkLocal64(System.Net.IPAddress a) => SamePrefix(a, System.Net.IPAddress.Parse("fe80::"), 64);

    /// <summary>The last 64 bits (the stack answers for the host and DNS identifiers in the prefix and on the link-local prefix).</summary>
    private static bool SameIdentifier(System.Net.IPAddress a, System.Net.IPAddress b) =>
        a.GetAddressBytes().AsSpan(8).SequenceEqual(b.GetAddressBytes().AsSpan(8));

    private static bool TryParseV6(string text, out System.Net.IPAddress address) =>
        System.Net.IPAddress.TryParse(text, out address!) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;

    private static bool SamePrefix(System.Net.IPAddress a, System.Net.IPAddress b, int bits)
    {
        Span<byte> x = stackalloc byte[16];
        Span<byte> y = stackalloc byte[16];
        _ = a.TryWriteBytes(x, out _);
        _ = b.TryWriteBytes(y, out _);
        for (var i = 0; i < bits; i++)
        {
            var mask = (byte)(0x80 >> (i % 8));
            if ((x[i / 8] & mask) != (y[i / 8] & mask))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// <c>addr</c> (classful mask), <c>addr/bits</c> (4..32) or <c>addr/a.b.c.d</c>, as net_slirp_init
    /// reads them: a numeric suffix with trailing characters is retried as a dotted mask.
    /// </summary>
    private static (Ipv4Address Net, Ipv4Address Mask) ParseNetwork(string vnetwork)
    {
        var slash = vnetwork.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            if (!InetAton.TryParse(vnetwork, out var n))
            {
                throw QapiErrors.Generic("Failed to parse netmask");
            }

            return (n, ClassfulMask(n.Value));
        }

        if (!InetAton.TryParse(vnetwork[..slash], out var net))
        {
            throw QapiErrors.Generic("Failed to parse netmask");
        }

        var suffix = vnetwork[(slash + 1)..];
        var (shift, end) = StrtolDecimal(suffix);
        if (end != suffix.Length)
        {
            if (!InetAton.TryParse(suffix, out var m))
            {
                throw QapiErrors.Generic("Failed to parse netmask (trailing chars)");
            }

            return (net, m);
        }

        if (shift < 4 || shift > 32)
        {
            throw QapiErrors.Generic("Invalid netmask provided (must be in range 4-32)");
        }

        return (net, Ipv4Address.MaskFromPrefix((int)shift));
    }

    /// <summary>The mask QEMU picks when <c>net</c> has no slash (checked in this order).</summary>
    private static Ipv4Address ClassfulMask(uint a)
    {
        uint m;
        if ((a & 0x8000_0000) == 0)
        {
            m = 0xFF00_0000;
        }
        else if ((a & 0xFFF0_0000) == 0xAC10_0000)
        {
            m = 0xFFF0_0000;
        }
        else if ((a & 0xC000_0000) == 0x8000_0000)
        {
            m = 0xFFFF_0000;
        }
        else if ((a & 0xFFFF_0000) == 0xC0A8_0000)
        {
            m = 0xFFFF_0000;
        }
        else if ((a & 0xFFFF_0000) == 0xC612_0000)
        {
            m = 0xFFFE_0000;
        }
        else if ((a & 0xE000_0000) == 0xE000_0000)
        {
            m = 0xFFFF_FF00;
        }
        else
        {
            m = 0xFFFF_FFF0;
        }

        return new Ipv4Address(m);
    }

    /// <summary>C strtol(s, &amp;end, 10): leading space and sign, digits; value saturates like LONG_MAX.</summary>
    private static (long Value, int End) StrtolDecimal(string s)
    {
        var i = 0;
        while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            i++;
        }

        var negative = false;
        if (i < s.Length && s[i] is '+' or '-')
        {
            negative = s[i] == '-';
            i++;
        }

        var start = i;
        long value = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            value = value > long.MaxValue / 10 ? long.MaxValue : (value * 10) + (s[i] - '0');
            i++;
        }

        // No digits: strtol leaves end at the start of the string.
        return i == start ? (0, 0) : (negative ? -value : value, i);
    }

    private static string[] ToList(List<Netdevd.Qapi.Schema.String>? list)
    {
        if (list is null)
        {
            return [];
        }

        var result = new string[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            result[i] = list[i].Str;
        }

        return result;
    }
}
