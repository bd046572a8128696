using System.Globalization;
using System.Net;

namespace Netdevd.Personalities.Passt;

/// <summary>
/// A -t/-u spec bound to one address (<c>ADDR/PORTS</c>), kept to be checked once the families in
/// use are known: passt and pasta bind such a spec only in the address's family, so with that
/// family off (-4, -6, or no IPv6 on the host) its first port fails to bind and they exit.
/// </summary>
internal readonly record struct AddressedPortSpec(char Option, string Spec, IPAddress Address, int FirstPort)
{
    /// <summary>Records <paramref name="spec"/> when it named an address: <paramref name="firstForward"/> is the index of its first forward.</summary>
    public static void Note(List<AddressedPortSpec> into, char option, string spec, List<PortForward> forwards, int firstForward)
    {
        if (forwards.Count > firstForward && forwards[firstForward].HostAddress is { } address)
        {
            into.Add(new AddressedPortSpec(option, spec, address, forwards[firstForward].HostPort));
        }
    }

    /// <summary>
    /// Throws pasta's "Failed to bind port" for the first spec whose address family is off. (pasta
    /// 2025-01 prints "(null)" for the reason, a stray errno; netdevd names the real one.)
    /// </summary>
    public static void CheckFamilies(string program, IEnumerable<AddressedPortSpec> specs, bool ipv4, bool ipv6)
    {
        foreach (var s in specs)
        {
            if (InetPton.IsIpv6(s.Address) ? !ipv6 : !ipv4)
            {
                throw new PersonalityUsageException(string.Create(CultureInfo.InvariantCulture,
                    $"{program}: Failed to bind port {s.FirstPort} (Address family not supported by protocol) for option '-{s.Option} {s.Spec}', exiting"));
            }
        }
    }
}
