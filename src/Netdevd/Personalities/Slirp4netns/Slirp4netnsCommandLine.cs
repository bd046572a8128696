using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Netdevd.Qmp.Server;

namespace Netdevd.Personalities.Slirp4netns;

/// <summary>
/// slirp4netns 1.2's command line (<c>slirp4netns [OPTION]... PID|PATH [TAPNAME]</c>), as podman
/// and rootlesskit pass it. Options netdevd cannot honour are refused by name; the help lists
/// only what is honoured, because podman and rootlesskit probe it to decide what to pass.
/// </summary>
internal static class Slirp4netnsCommandLine
{
    public const string Program = "slirp4netns";

    /// <summary>The maximum slirp4netns accepts (libslirp's IF_MTU_MAX).</summary>
    public const int MaxMtu = 65521;

    private static readonly GetoptOption[] Known =
    [
        new("configure", 'c', false),
        new("exit-fd", 'e', true),
        new("ready-fd", 'r', true),
        new("mtu", 'm', true),
        new("enable-ipv6", '6', false),
        new("api-socket", 'a', true),
        new("cidr", '\0', true),
        new("disable-host-loopback", '\0', false),
        new("netns-type", '\0', true),
        new("userns-path", '\0', true),
        new("enable-sandbox", '\0', false),
        new("enable-seccomp", '\0', false),
        new("outbound-addr", '\0', true),
        new("outbound-addr6", '\0', true),
        new("disable-dns", '\0', false),
        new("macaddress", '\0', true),
        new("target-type", '\0', true),
        new("help", 'h', false),
        new("version", 'v', false),
    ];

    /// <summary>What the callers grep for, in slirp4netns's layout; only the options netdevd honours.</summary>
    public static string HelpText =>
        "Usage: slirp4netns [OPTION]... PID|PATH [TAPNAME]\n" +
        "User-mode networking for unprivileged network namespaces (netdevd's slirp4netns personality).\n\n" +
        "-c, --configure          bring up the interface\n" +
        "-e, --exit-fd=FD         specify the FD for terminating slirp4netns\n" +
        "-r, --ready-fd=FD        specify the FD to write to when the network is configured\n" +
        "-m, --mtu=MTU            specify MTU (default=1500, max=65521)\n" +
        "-6, --enable-ipv6        enable IPv6\n" +
        "-a, --api-socket=PATH    specify API socket path\n" +
        "--cidr=CIDR              specify network address CIDR (default=10.0.2.0/24)\n" +
        "--disable-host-loopback  prohibit connecting to 127.0.0.1:* on the host namespace\n" +
        "--netns-type=TYPE        specify network namespace type ([path|pid], default=pid)\n" +
        "--userns-path=PATH       specify user namespace path\n" +
        "--enable-sandbox         create a new mount namespace (and drop all caps except CAP_NET_BIND_SERVICE if running as the root)\n" +
        "--enable-seccomp         enable seccomp to limit syscalls (blocked calls fail with EPERM)\n" +
        "--macaddress=MAC         specify the MAC address of the TAP (only valid with -c)\n" +
        "-h, --help               show this help and exit\n" +
        "-v, --version            show version and exit\n";

    public static string VersionText =>
        $"slirp4netns version 1.2.0 ({QmpVersion.Package})\nlibslirp: none (netdevd's own user-mode stack)\nSLIRP_CONFIG_VERSION_MAX: 4\n";

    /// <summary>The options, or null when --help/--version was answered (<paramref name="output"/> holds the text).</summary>
    public static Slirp4netnsOptions? Parse(IReadOnlyList<string> args, out string? output)
    {
        output = null;
        var (options, operands) = GetoptLong.Parse(args, Known, Program);
        bool configure = false, ipv6 = false, noLoopback = false, sandbox = false, seccomp = false;
        int? exitFd = null, readyFd = null;
        var mtu = 1500;
        string? api = null, userns = null, mac = null;
        var netnsType = "pid";
        var network = IPAddress.Parse("10.0.2.0");
        var prefix = 24;
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
                case "configure":
                    configure = true;
                    break;
                case "exit-fd":
                    exitFd = Descriptor(value!, "exit-fd");
                    break;
                case "ready-fd":
                    readyFd = Descriptor(value!, "ready-fd");
                    break;
                case "mtu":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out mtu) || mtu <= 0 || mtu > MaxMtu)
                    {
                        throw new PersonalityUsageException($"{Program}: MTU must be a positive integer (< {MaxMtu + 1}), got '{value}'");
                    }

                    break;
                case "enable-ipv6":
                    ipv6 = true;
                    break;
                case "api-socket":
                    api = value;
                    break;
                case "cidr":
                    (network, prefix) = Cidr(value!);
                    break;
                case "disable-host-loopback":
                    noLoopback = true;
                    break;
                case "netns-type":
                    netnsType = value is "pid" or "path" ? value : throw new PersonalityUsageException($"{Program}: --netns-type must be 'pid' or 'path', got '{value}'");
                    break;
                case "enable-sandbox":
                    sandbox = true;
                    break;
                case "enable-seccomp":
                    seccomp = true;
                    break;
                case "userns-path":
                    userns = value;
                    break;
                case "macaddress":
                    mac = value;
                    break;
                case "target-type":
                    if (value != "netns")
                    {
                        throw new PersonalityUsageException($"{Program}: --target-type={value}: netdevd serves network namespaces only (--target-type=netns)");
                    }

                    break;
                default:
                    // outbound-addr(6), disable-dns: never ignored silently.
                    throw new PersonalityUsageException($"{Program}: --{name} is not supported by netdevd's slirp4netns personality");
            }
        }

        if (operands.Count is < 1 or > 2)
        {
            throw new PersonalityUsageException($"{Program}: expected PID|PATH [TAPNAME], got {operands.Count} operand(s) (see --help)");
        }

        if (mac is not null && !configure)
        {
            throw new PersonalityUsageException($"{Program}: --macaddress can only be used with -c");
        }

        int? pid = null;
        string netns;
        if (netnsType == "pid")
        {
            if (!int.TryParse(operands[0], NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p <= 0)
            {
                throw new PersonalityUsageException($"{Program}: PID must be a positive integer, got '{operands[0]}' (use --netns-type=path for a path)");
            }

            pid = p;
            netns = $"/proc/{p}/ns/net";
        }
        else
        {
            netns = operands[0];
        }

        return new Slirp4netnsOptions
        {
            NetnsPath = netns,
            TargetPid = pid,
            TapName = operands.Count > 1 ? operands[1] : "tap0",
            Configure = configure,
            ExitFd = exitFd,
            ReadyFd = readyFd,
            Mtu = mtu,
            EnableIpv6 = ipv6,
            ApiSocket = api,
            Network = network,
            PrefixLength = prefix,
            DisableHostLoopback = noLoopback,
            UserNamespacePath = userns,
            MacAddress = mac,
            EnableSandbox = sandbox,
            EnableSeccomp = seccomp,
        };
    }

    private static int Descriptor(string value, string option) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var fd) && fd >= 0
            ? fd
            : throw new PersonalityUsageException($"{Program}: --{option} must be a file descriptor number, got '{value}'");

    /// <summary>An IPv4 network in CIDR notation with room for host .2, DNS .3, DHCP .15 and the guest .100.</summary>
    private static (IPAddress Network, int Prefix) Cidr(string value)
    {
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0
            || !IPAddress.TryParse(value.AsSpan(0, slash), out var address)
            || address.AddressFamily != AddressFamily.InterNetwork
            || !int.TryParse(value.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
            || prefix is < 1 or > 25)
        {
            throw new PersonalityUsageException($"{Program}: --cidr={value}: expected an IPv4 network such as 10.0.2.0/24 (prefix at most /25, the guest is network+100)");
        }

        Span<byte> bytes = stackalloc byte[4];
        _ = address.TryWriteBytes(bytes, out _);
        var mask = uint.MaxValue << (32 - prefix);
        var masked = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes) & mask;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, masked);
        return (new IPAddress(bytes), prefix);
    }
}
