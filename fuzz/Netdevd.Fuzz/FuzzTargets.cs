using System.Diagnostics.CodeAnalysis;
using Netdevd.Fuzz.Harnesses;

namespace Netdevd.Fuzz;

/// <summary>One fuzz input in; any exception that escapes is a finding.</summary>
public delegate void Harness(ReadOnlySpan<byte> input);

/// <summary>
/// The targets by name (the name is also the corpus folder, fuzz/corpus/NAME). Each harness
/// calls the layer under test directly, so nothing between the input and the parser can catch
/// an exception before it reaches the fuzzer.
/// </summary>
public static class FuzzTargets
{
    private static readonly (string Name, Harness Run)[] s_targets =
    [
        ("qmp-json", QmpJsonHarness.Run),
        ("qmp-dispatch", QmpDispatchHarness.Run),
        ("netdev-opts", NetdevOptsHarness.Run),
        ("netdev-keyval", NetdevKeyvalHarness.Run),
        ("wire", WireHarness.Run),
        ("user-frames", UserFramesHarness.Run),
        ("user-arp", UserArpHarness.Run),
        ("user-dhcp", UserDhcpHarness.Run),
        ("user-dns", UserDnsHarness.Run),
        ("user-tftp", UserTftpHarness.Run),
        ("user-tcp", UserTcpHarness.Run),
        ("user-frag", UserFragHarness.Run),
        ("user-ipv6", UserIpv6Harness.Run),
        ("user-dhcpv6", UserDhcpv6Harness.Run),
        ("framing", FramingHarness.Run),
        ("dgram", DgramHarness.Run),
        ("l2tpv3", L2tpv3Harness.Run),
        ("vde", VdeHarness.Run),
        ("virtio-offload", VirtioOffloadHarness.Run),
        ("vhost-user-session", VhostUserSessionHarness.Run),
        ("vhost-user-ring", VhostUserRingHarness.Run),
        ("vhost-user-driver-ring", VhostUserDriverRingHarness.Run),
        ("personality-argv", PersonalityArgvHarness.Run),
        ("slirp4netns-api", Slirp4netnsApiHarness.Run),
        ("pasta-procnet", PastaProcNetHarness.Run),
    ];

    public static IEnumerable<string> Names
    {
        get
        {
            foreach (var (name, _) in s_targets)
            {
                yield return name;
            }
        }
    }

    public static bool TryGet(string name, [NotNullWhen(true)] out Harness? harness)
    {
        foreach (var (n, run) in s_targets)
        {
            if (n == name)
            {
                harness = run;
                return true;
            }
        }

        harness = null;
        return false;
    }
}
