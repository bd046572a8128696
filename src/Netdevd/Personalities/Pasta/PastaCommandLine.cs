using System.Globalization;
using System.Net;
using Netdevd.Personalities.Passt;
using Netdevd.Qmp.Server;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// pasta's command line as rootlesskit 2 and podman 4.4+ pass it for an existing namespace
/// (<c>pasta [OPTION]... PID</c> or <c>--netns PATH</c>): passt's options plus the namespace
/// ones. Starting a command in a new namespace is <c>netdevd run</c>'s job and is refused here.
/// </summary>
internal static class PastaCommandLine
{
    public const string Program = "pasta";

    private static readonly GetoptOption[] Known =
    [
        new("debug", 'd', false),
        new("quiet", 'q', false),
        new("foreground", 'f', false),
        new("stderr", 'e', false),
        new("log-file", 'l', true),
        new("pid", 'P', true),
        new("tcp-ports", 't', true),
        new("udp-ports", 'u', true),
        new("tcp-ns", 'T', true),
        new("udp-ns", 'U', true),
        new("address", 'a', true),
        new("netmask", 'n', true),
        new("gateway", 'g', true),
        new("mtu", 'm', true),
        new("ns-ifname", 'I', true),
        new("netns", '\0', true),
        new("userns", '\0', true),
        new("config-net", '\0', false),
        new("dns-forward", '\0', true),
        new("no-map-gw", '\0', false),
        new("map-guest-addr", '\0', true),
        new("ipv4-only", '4', false),
        new("ipv6-only", '6', false),
        new("help", 'h', false),
        new("version", '\0', false),
        // Known to pasta, refused by netdevd.
        new("interface", 'i', true),
        new("outbound", 'o', true),
        new("dns", 'D', true),
        new("search", 'S', true),
        new("map-host-loopback", '\0', true),
        new("netns-only", '\0', false),
        new("no-netns-quit", '\0', false),
        new("splice-only", '\0', false),
        new("pcap", 'p', true),
        new("mac-addr", 'M', true),
        new("fqdn", '\0', true),
        new("hostname", 'H', true),
        new("trace", '\0', false),
        new("runas", '\0', true),
    ];

    public static string HelpText =>
        "Usage: pasta [OPTION]... PID | --netns PATH\n" +
        "netdevd's pasta personality: a user-mode network for an existing network namespace.\n\n" +
        "  -d, --debug              log debug messages\n" +
        "  -q, --quiet              log warnings and errors only\n" +
        "  -f, --foreground         do not go to the background\n" +
        "  -e, --stderr             start-up messages on stderr (the default)\n" +
        "  -l, --log-file PATH      log (append) to PATH\n" +
        "  -P, --pid FILE           write the daemon's PID to FILE\n" +
        "  -t, --tcp-ports SPEC     forward TCP ports from the host into the namespace (none, or passt's specs)\n" +
        "  -u, --udp-ports SPEC     the same for UDP\n" +
        "  -T, --tcp-ns SPEC        forward TCP ports of the namespace's loopback to the host's (none, or passt's specs)\n" +
        "  -U, --udp-ns SPEC        the same for UDP\n" +
        "  -a, --address ADDR       the namespace's IPv4 address (default 10.0.2.15)\n" +
        "  -n, --netmask MASK       its netmask or prefix length (default 24)\n" +
        "  -g, --gateway ADDR       the gateway (default network + 2; the host's loopback through it)\n" +
        "  -m, --mtu N              the interface's MTU (default 65520)\n" +
        "  -I, --ns-ifname NAME     the interface in the namespace (default tap0)\n" +
        "      --netns PATH         the namespace by path instead of PID\n" +
        "      --userns PATH        the user namespace that owns it\n" +
        "      --config-net         give the interface its addresses and default routes (IPv6: fd00::15/64 via fe80::2)\n" +
        "      --dns-forward ADDR   DNS queries to ADDR go to the host's resolvers (default network + 3; may be outside it;\n" +
        "                           an IPv6 ADDR for IPv6, default fd00::3)\n" +
        "      --no-map-gw          the gateway does not lead to the host's loopback\n" +
        "      --map-guest-addr ADDR connections to ADDR (outside the network) reach the host's loopback\n" +
        "  -4, --ipv4-only          no IPv6\n" +
        "  -6, --ipv6-only          no IPv4\n" +
        "  -h, --help               this text\n" +
        "      --version            version\n";

    public static string VersionText => $"pasta ({QmpVersion.Package})\n";

    /// <summary>The options, or null when --help/--version was answered (<paramref name="output"/> holds the text).</summary>
    public static PastaOptions? Parse(IReadOnlyList<string> args, out string? output)
    {
        output = null;
        var (options, operands) = GetoptLong.Parse(args, Known, Program);
        var forwards = new List<PortForward>();
        var nsForwards = new List<PortForward>();
        string? netns = null, userns = null, logFile = null, pidFile = null, ifname = null;
        bool foreground = false, quiet = false, debug = false, configure = false, noMapGw = false, ipv4Only = false, ipv6Only = false;
        IPAddress? address = null, gateway = null, dns = null, dns6 = null, mapGuest = null;
        int prefix = 24, mtu = 65520;
        foreach (var (name, value) in options)
        {
            switch (name)
            {
                case "help":
                    output = HelpText;
                    return null;
                case "version":
                    output = VersionText;
                    return null;
                case "debug": debug = true; break;
                case "quiet": quiet = true; break;
                case "foreground": foreground = true; break;
                case "stderr": break; // start-up messages always reach the caller's stderr
                case "log-file": logFile = value; break;
                case "pid": pidFile = value; break;
                case "tcp-ports": PortSpec.Parse(Program, "-t", "tcp", value!, forwards); break;
                case "udp-ports": PortSpec.Parse(Program, "-u", "udp", value!, forwards); break;
                case "tcp-ns": PortSpec.Parse(Program, "-T", "tcp", value!, nsForwards); break;
                case "udp-ns": PortSpec.Parse(Program, "-U", "udp", value!, nsForwards); break;
                case "map-guest-addr": mapGuest = value == "none" ? null : Ipv4(value!, "--map-guest-addr"); break;
                case "address": address = Ipv4(value!, "--address"); break;
                case "netmask": prefix = Netmask(value!); break;
                case "gateway": gateway = Ipv4(value!, "--gateway"); break;
                // As pasta: once per family (podman gives an IPv4 one).
                case "dns-forward" when IPAddress.TryParse(value, out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !v6.IsIPv6LinkLocal && !v6.IsIPv6Multicast:
                    dns6 = v6;
                    break;
                case "dns-forward": dns = Ipv4(value!, "--dns-forward"); break;
                case "mtu":
                    mtu = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m is >= 68 and <= 65520
                        ? m
                        : throw new PersonalityUsageException($"{Program}: --mtu {value}: must be 68 to 65520");
                    break;
                case "ns-ifname": ifname = value; break;
                case "netns": netns = value; break;
                case "userns": userns = value; break;
                case "config-net": configure = true; break;
                case "no-map-gw": noMapGw = true; break;
                // As pasta: the later of -4 and -6 wins.
                case "ipv4-only": ipv4Only = true; ipv6Only = false; break;
                case "ipv6-only": ipv6Only = true; ipv4Only = false; break;
                default:
                    throw new PersonalityUsageException($"{Program}: --{name} is not supported by netdevd's pasta personality");
            }
        }

        int? pid = null;
        if (netns is null)
        {
            if (operands.Count != 1 || !int.TryParse(operands[0], NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p <= 0)
            {
                throw new PersonalityUsageException(operands.Count == 0
                    ? $"{Program}: give the namespace's PID or --netns PATH (to start a command in a new namespace use 'netdevd run -- CMD')"
                    : $"{Program}: '{string.Join(' ', operands)}': netdevd's pasta serves an existing namespace (PID or --netns PATH); to start a command use 'netdevd run -- CMD'");
            }

            pid = p;
            netns = $"/proc/{p}/ns/net";
        }
        else if (operands.Count > 0)
        {
            throw new PersonalityUsageException($"{Program}: unexpected argument '{operands[0]}' with --netns");
        }

        return new PastaOptions
        {
            NetnsPath = netns,
            TargetPid = pid,
            UserNamespacePath = userns,
            Foreground = foreground,
            Quiet = quiet,
            Debug = debug,
            LogFile = logFile,
            PidFile = pidFile,
            IfName = ifname ?? "tap0",
            Mtu = mtu,
            ConfigureNetwork = configure,
            Address = address,
            PrefixLength = prefix,
            Gateway = gateway,
            DnsForward = dns,
            DnsForward6 = dns6,
            NoMapGateway = noMapGw,
            Ipv4Only = ipv4Only,
            Ipv6Only = ipv6Only,
            Forwards = forwards,
            NamespaceForwards = nsForwards,
            MapGuestAddress = mapGuest,
        };
    }

    private static IPAddress Ipv4(string value, string option) => Ipv4Arguments.Address(Program, option, value);

    private static int Netmask(string value) => Ipv4Arguments.PrefixLength(Program, value, dotted: false);
}
