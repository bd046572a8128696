using System.Net;
using Netdevd.Backends.L2tpv3;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Forwarding;
using Netdevd.UserNet.Nat;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// What a backend checks in its options before it opens anything (the pure part of netdev
/// creation): the user netdev's addresses and rules, l2tpv3's layout. Errors are QapiExceptions.
/// </summary>
internal static class NetdevSemantics
{
    public static void Check(Netdev netdev)
    {
        try
        {
            if (netdev.User is { } user)
            {
                User(user);
            }

            if (netdev.L2tpv3 is { } l2tpv3)
            {
                _ = L2tpv3Config.From(l2tpv3);
            }
        }
        catch (QapiException)
        {
        }
    }

    private static void User(NetdevUserOptions options)
    {
        var config = UserNetConfigParser.Parse(options, "/dev/null");
        var network = new UserStackOptions { Network = config.Network, Netmask = config.Netmask, Host = config.Host, Dns = config.Dns };
        foreach (var rule in config.HostForwards)
        {
            try
            {
                _ = HostForwardParser.Parse(rule, config.DhcpStart);
            }
            catch (QapiException)
            {
            }
        }

        var existing = new List<GuestForwardRule>();
        foreach (var rule in config.GuestForwards)
        {
            if (!ResolvesWithoutDns(rule))
            {
                continue;
            }

            try
            {
                existing.Add(GuestForwardParser.Parse(rule, network, existing));
            }
            catch (QapiException)
            {
            }
        }
    }

    /// <summary>Whether a guestfwd rule's tcp: device names no host to look up (a fuzzer must not query DNS).</summary>
    private static bool ResolvesWithoutDns(string rule)
    {
        var tcp = rule.IndexOf("-tcp:", StringComparison.Ordinal);
        if (tcp < 0)
        {
            return true;
        }

        var spec = rule[(tcp + 5)..].Split(',')[0];
        var colon = spec.LastIndexOf(':');
        var host = colon < 0 ? spec : spec[..colon];
        return host.Length == 0 || IPAddress.TryParse(host, out _);
    }
}
