using System.Net;

namespace Netdevd.Personalities.Passt;

/// <summary>What leads to the host's loopback in one address family, for pasta's and passt's IPv4 and IPv6 alike.</summary>
internal static class HostMapping
{
    /// <summary>
    /// pasta's mapping of one family: --map-host-loopback ADDR maps ADDR (the gateway then only if it
    /// is ADDR; --no-map-gw does not undo it), else the gateway unless --no-map-gw. --map-guest-addr
    /// leads to the host's loopback too in netdevd (its namespace has no host address to shadow);
    /// the user netdev has one such alias per family, so two different ones are refused.
    /// </summary>
    public static (bool HostLoopback, IPAddress? Alias, string Option) Loopback(string program, IPAddress? mapHostLoopback, IPAddress? mapGuest, IPAddress gateway, IPAddress route, bool noMapGateway)
    {
        if (mapHostLoopback is null)
        {
            return (!noMapGateway, mapGuest, "--map-guest-addr");
        }

        if (mapHostLoopback.Equals(gateway) || mapHostLoopback.Equals(route))
        {
            return (true, mapGuest, "--map-guest-addr");
        }

        if (mapGuest is not null && !mapGuest.Equals(mapHostLoopback))
        {
            throw new PersonalityUsageException(
                $"{program}: --map-host-loopback {mapHostLoopback} and --map-guest-addr {mapGuest}: netdevd's user network leads one address per family besides the gateway to the host");
        }

        return (false, mapHostLoopback, "--map-host-loopback");
    }
}
