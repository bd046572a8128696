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
        new("map-host-loopback", '\0', true),
        new("ipv4-only", '4', false),
        new("ipv6-only", '6', false),
        new("help", 'h', false),
        new("version", '\0', false),
        // Known to pasta, refused by netdevd.
        new("interface", 'i', true),
        new("outbound", 'o', true),
        new("dns", 'D', true),
        new("search", 'S', true),
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
        "  -t, --tcp-ports SPEC     forward TCP ports from the host into the namespace: none, auto (the ports bound\n" +
        "                           in the namespace, rescanned every second), or passt's specs; default: auto\n" +
        "  -u, --udp-ports SPEC     the same for UDP (auto also takes the numbers of bound TCP ports); default: auto\n" +
        "  -T, --tcp-ns SPEC        forward TCP ports of the namespace's loopback (127.0.0.1, ::1) to the host's:\n" +
        "                           none, auto (the ports bound on the host), or passt's specs; default: auto\n" +
        "  -U, --udp-ns SPEC        the same for UDP; default: auto\n" +
        "  -a, --address ADDR       the namespace's address: IPv4 (default 10.0.2.15), or IPv6 (its /64 the network;\n" +
        "                           default fd00::15); once per family\n" +
        "  -n, --netmask MASK       the IPv4 netmask or prefix length (default 24)\n" +
        "  -g, --gateway ADDR       the gateway: IPv4 (default network + 2), or IPv6 in the /64 or link-local (default\n" +
        "                           fe80::2, also network ::2); the host's loopback through it\n" +
        "  -m, --mtu N              the interface's MTU (default 65520)\n" +
        "  -I, --ns-ifname NAME     the interface in the namespace (default tap0)\n" +
        "      --netns PATH         the namespace by path instead of PID\n" +
        "      --userns PATH        the user namespace that owns it\n" +
        "      --config-net         give the interface its addresses and default routes (IPv6: fd00::15/64 via fe80::2)\n" +
        "      --dns-forward ADDR   DNS queries to ADDR go to the host's resolvers (default network + 3; may be outside it;\n" +
        "                           an IPv6 ADDR for IPv6, default fd00::3)\n" +
        "      --no-map-gw          the gateway does not lead to the host's loopback\n" +
        "      --map-host-loopback ADDR  ADDR leads to the host's loopback instead of the gateway (none: nothing does)\n" +
        "      --map-guest-addr ADDR connections to ADDR reach the host's loopback (IPv4: outside the network); once\n" +
        "                           per family, none: neither\n" +
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
        var addressed = new List<AddressedPortSpec>();
        var addresses = new AddressArguments(Program);
        string? netns = null, userns = null, logFile = null, pidFile = null, ifname = null;
        bool foreground = false, quiet = false, debug = false, configure = false, ipv4Only = false, ipv6Only = false;
        var mtu = 65520;
        PortMode tcpMode = PortMode.Unset, udpMode = PortMode.Unset, tcpNsMode = PortMode.Unset, udpNsMode = PortMode.Unset;
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
                case "tcp-ports": Forward('t', "tcp", value!, ref tcpMode); break;
                case "udp-ports": Forward('u', "udp", value!, ref udpMode); break;
                case "tcp-ns": PortSpec.Parse(Program, pasta: true, "-T", "tcp", value!, ref tcpNsMode, nsForwards); break;
                case "udp-ns": PortSpec.Parse(Program, pasta: true, "-U", "udp", value!, ref udpNsMode, nsForwards); break;
                case "map-guest-addr": addresses.MapGuest(value!); break;
                case "map-host-loopback": addresses.MapHostLoopback(value!); break;
                case "address": addresses.Address(value!); break;
                case "netmask": addresses.SetNetmask(value!); break;
                case "gateway": addresses.Gateway(value!); break;
                case "dns-forward": addresses.DnsForward(value!); break;
                case "mtu":
                    mtu = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m is >= 68 and <= 65520
                        ? m
                        : throw new PersonalityUsageException($"{Program}: --mtu {value}: must be 68 to 65520");
                    break;
                case "ns-ifname": ifname = value; break;
                case "netns": netns = value; break;
                case "userns": userns = value; break;
                case "config-net": configure = true; break;
                case "no-map-gw": addresses.NoMapGateway = true; break;
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
            Address = addresses.Address4,
            Address6 = addresses.Address6,
            PrefixLength = addresses.Netmask ?? 24,
            Gateway = addresses.Gateway4,
            Gateway6 = addresses.Gateway6,
            DnsForward = addresses.DnsForward4,
            DnsForward6 = addresses.DnsForward6,
            NoMapGateway = addresses.NoMapGateway,
            MapHostLoopback = addresses.MapHostLoopback4,
            MapHostLoopback6 = addresses.MapHostLoopback6,
            MapGuestAddress = addresses.MapGuest4,
            MapGuestAddress6 = addresses.MapGuest6,
            Ipv4Only = ipv4Only,
            Ipv6Only = ipv6Only,
            Forwards = forwards,
            NamespaceForwards = nsForwards,
            AddressedSpecs = addressed,
            // As pasta: an option not given is auto.
            Auto = new AutoPorts(
                tcpMode is PortMode.Auto or PortMode.Unset,
                udpMode is PortMode.Auto or PortMode.Unset,
                tcpNsMode is PortMode.Auto or PortMode.Unset,
                udpNsMode is PortMode.Auto or PortMode.Unset),
        };

        void Forward(char option, string protocol, string spec, ref PortMode mode)
        {
            var first = forwards.Count;
            PortSpec.Parse(Program, pasta: true, $"-{option}", protocol, spec, ref mode, forwards);
            AddressedPortSpec.Note(addressed, option, spec, forwards, first);
        }
    }
}
