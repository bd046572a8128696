using System.Globalization;
using System.Net;
using Netdevd.Qmp.Server;

namespace Netdevd.Personalities.Passt;

/// <summary>
/// passt's command line as libvirt 11 passes it (<c>--one-off --socket PATH --pid FILE --log-file
/// FILE --tcp-ports SPEC [--udp-ports SPEC] [--address A --netmask N] [--hostname H] ...</c>),
/// with passt's option names and short forms (and <c>--vhost-user</c>, which libvirt adds for
/// <c>&lt;interface type='vhostuser'&gt;</c>). What netdevd cannot honour is refused by name.
/// </summary>
internal static class PasstCommandLine
{
    public const string Program = "passt";

    private static readonly GetoptOption[] Known =
    [
        new("debug", 'd', false),
        new("quiet", 'q', false),
        new("foreground", 'f', false),
        new("log-file", 'l', true),
        new("pid", 'P', true),
        new("socket", 's', true),
        new("one-off", '1', false),
        new("tcp-ports", 't', true),
        new("udp-ports", 'u', true),
        new("address", 'a', true),
        new("netmask", 'n', true),
        new("gateway", 'g', true),
        new("hostname", 'H', true),
        new("search", 'S', true),
        new("ipv4-only", '4', false),
        new("ipv6-only", '6', false),
        new("no-map-gw", '\0', false),
        new("map-host-loopback", '\0', true),
        new("map-guest-addr", '\0', true),
        new("vhost-user", '\0', false),
        new("help", 'h', false),
        new("version", '\0', false),
        new("mtu", 'm', true),
        // Known to passt, refused by netdevd (named in the error rather than "unrecognized").
        new("stderr", 'e', false),
        new("interface", 'i', true),
        new("outbound", 'o', true),
        new("dns", 'D', true),
        new("fqdn", '\0', true),
        new("mac-addr", 'M', true),
        new("pcap", 'p', true),
        new("fd", '\0', true),
        new("trace", '\0', false),
        new("no-dhcp", '\0', false),
        new("no-tcp", '\0', false),
        new("no-udp", '\0', false),
        new("no-icmp", '\0', false),
        new("no-ndp", '\0', false),
        new("no-dhcpv6", '\0', false),
        new("no-ra", '\0', false),
        new("dns-forward", '\0', true),
        new("runas", '\0', true),
        new("log-size", '\0', true),
        new("print-capabilities", '\0', false),
    ];

    public static string HelpText =>
        "Usage: passt [OPTION]...\n" +
        "netdevd's passt personality: a user-mode network for a QEMU VM on a unix socket (QEMU's stream netdev).\n\n" +
        "  -d, --debug            log debug messages\n" +
        "  -q, --quiet            log warnings and errors only\n" +
        "  -f, --foreground       do not go to the background\n" +
        "  -l, --log-file PATH    log (append) to PATH\n" +
        "  -P, --pid FILE         write the daemon's PID to FILE\n" +
        "  -s, --socket PATH      unix socket to listen on (default /tmp/passt_N.socket)\n" +
        "  -1, --one-off          quit when the first client disconnects\n" +
        "  -t, --tcp-ports SPEC   forward TCP ports from the host: none, or [ADDR/]PORT[-PORT][:PORT[-PORT]][,...], ~PORT excludes\n" +
        "  -u, --udp-ports SPEC   the same for UDP\n" +
        "  -a, --address ADDR     the guest's IPv4 address (DHCP), or IPv6 address (its /64 announced); once per family\n" +
        "  -n, --netmask MASK     the IPv4 netmask or prefix length (default 24)\n" +
        "  -g, --gateway ADDR     the gateway the guest sees, IPv4 or IPv6 (the host's loopback through it)\n" +
        "  -m, --mtu MTU          the MTU told to the guest by DHCP and NDP (68-65520; 0: not told, the default)\n" +
        "  -H, --hostname NAME    hostname sent by DHCP\n" +
        "  -S, --search LIST      space-separated DNS search domains\n" +
        "  -4, --ipv4-only        no IPv6\n" +
        "  -6, --ipv6-only        no IPv4\n" +
        "      --no-map-gw        the gateway does not lead to the host's loopback\n" +
        "      --map-host-loopback ADDR  ADDR leads to the host's loopback instead of the gateway (none: nothing does)\n" +
        "      --map-guest-addr ADDR  ADDR leads to the host's loopback (IPv4: outside the network); none: neither\n" +
        "      --vhost-user       serve --socket as a vhost-user back-end (QEMU's -netdev vhost-user)\n" +
        "  -h, --help             this text\n" +
        "      --version          version\n";

    public static string VersionText => $"passt ({QmpVersion.Package})\n";

    /// <summary>The options, or null when --help/--version was answered (<paramref name="output"/> holds the text).</summary>
    public static PasstOptions? Parse(IReadOnlyList<string> args, out string? output)
    {
        output = null;
        var (options, operands) = GetoptLong.Parse(args, Known, Program);
        if (operands.Count > 0)
        {
            throw new PersonalityUsageException($"{Program}: unexpected argument '{operands[0]}'");
        }

        var result = new PasstOptions();
        var forwards = new List<PortForward>();
        var addressed = new List<AddressedPortSpec>();
        var addresses = new AddressArguments(Program);
        PortMode tcpMode = PortMode.Unset, udpMode = PortMode.Unset;
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
                case "debug":
                    result = result with { Debug = true };
                    break;
                case "quiet":
                    result = result with { Quiet = true };
                    break;
                case "foreground":
                    result = result with { Foreground = true };
                    break;
                case "log-file":
                    result = result with { LogFile = value };
                    break;
                case "pid":
                    result = result with { PidFile = value };
                    break;
                case "socket":
                    result = result with { SocketPath = value };
                    break;
                case "one-off":
                    result = result with { OneOff = true };
                    break;
                case "tcp-ports":
                    Forward('t', "tcp", value!, ref tcpMode);
                    break;
                case "udp-ports":
                    Forward('u', "udp", value!, ref udpMode);
                    break;
                case "address":
                    addresses.Address(value!);
                    break;
                case "netmask":
                    addresses.SetNetmask(value!);
                    break;
                case "gateway":
                    addresses.Gateway(value!);
                    break;
                case "no-map-gw":
                    addresses.NoMapGateway = true;
                    break;
                case "map-host-loopback":
                    addresses.MapHostLoopback(value!);
                    break;
                case "map-guest-addr":
                    addresses.MapGuest(value!);
                    break;
                case "mtu":
                    result = result with
                    {
                        Mtu = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var mtu) && (mtu == 0 || mtu is >= 68 and <= 65520)
                            ? (mtu == 0 ? null : mtu)
                            : throw new PersonalityUsageException($"{Program}: --mtu {value}: must be 0 or 68 to 65520"),
                    };
                    break;
                case "hostname":
                    result = result with { Hostname = value };
                    break;
                case "search":
                    result = result with { Search = value!.Split(' ', StringSplitOptions.RemoveEmptyEntries) };
                    break;
                // As passt: the later of -4 and -6 wins.
                case "ipv4-only":
                    result = result with { Ipv4Only = true, Ipv6Only = false };
                    break;
                case "ipv6-only":
                    result = result with { Ipv6Only = true, Ipv4Only = false };
                    break;
                case "vhost-user":
                    result = result with { VhostUser = true };
                    break;
                default:
                    throw new PersonalityUsageException($"{Program}: --{name} is not supported by netdevd's passt personality");
            }
        }

        return result with
        {
            Forwards = forwards,
            AddressedSpecs = addressed,
            Address = addresses.Address4,
            Address6 = addresses.Address6,
            PrefixLength = addresses.Netmask ?? 24,
            Gateway = addresses.Gateway4,
            Gateway6 = addresses.Gateway6,
            NoMapGateway = addresses.NoMapGateway,
            MapHostLoopback = addresses.MapHostLoopback4,
            MapHostLoopback6 = addresses.MapHostLoopback6,
            MapGuestAddress = addresses.MapGuest4,
            MapGuestAddress6 = addresses.MapGuest6,
        };

        void Forward(char option, string protocol, string spec, ref PortMode mode)
        {
            var first = forwards.Count;
            PortSpec.Parse(Program, pasta: false, $"-{option}", protocol, spec, ref mode, forwards);
            AddressedPortSpec.Note(addressed, option, spec, forwards, first);
        }
    }
}
