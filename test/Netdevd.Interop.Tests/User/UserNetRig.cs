using System.Diagnostics;
using System.Net.Sockets;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// A real Linux network stack as the guest of netdevd's user netdev, with nothing touching the
/// machine's own network: netdevd runs in a private "host" namespace H (whose loopback also carries
/// 10.199.0.1, the "host address" the guest can ping), its tap moves to the guest
/// namespace G. Servers run on H's loopback. Everything is removed at dispose.
/// </summary>
internal sealed class UserNetRig : IAsyncDisposable
{
    public const string HostAddress = "10.199.0.1";

    /// <summary>What netdevd wrote so far (its log), a line each.</summary>
    public IReadOnlyList<string> NetdevdLog => [.. _log];
    private static int s_counter;
    private readonly List<Process> _servers = [];
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();
    private readonly string _tag;
    private Process? _netdevd;
    private bool _clientNs;

    private UserNetRig(string tag)
    {
        _tag = tag;
        HostNs = $"ndu-h-{tag}";
        ClientNs = $"ndu-c-{tag}";
        GuestNs = $"ndu-g-{tag}";
        Tap = $"ndut{tag}";
        Dir = HostTools.TempDir();
    }

    public string HostNs { get; }

    public string GuestNs { get; }

    /// <summary>A third namespace, a client on a veth link to the host namespace (see <see cref="AddClientNamespaceAsync"/>).</summary>
    public string ClientNs { get; }

    /// <summary>The host namespace's end of the client link.</summary>
    public const string ClientLinkHost = "10.198.0.1";

    /// <summary>The client namespace's end of the client link.</summary>
    public const string ClientLinkClient = "10.198.0.2";

    /// <summary>The host namespace's IPv6 end of the client link.</summary>
    public const string ClientLinkHost6 = "fd00:198::1";

    /// <summary>The client namespace's IPv6 end of the client link.</summary>
    public const string ClientLinkClient6 = "fd00:198::2";

    public string Tap { get; }

    public string Dir { get; }

    public string QmpPath => Path.Combine(Dir, "qmp.sock");

    /// <summary>Skips unless root and the tools are there.</summary>
    public static void RequireTools()
    {
        Assert.SkipUnless(HostTools.IsRoot, "needs root: creates network namespaces and a tap");
        HostTools.Require("ip", "iproute2");
        HostTools.Require("busybox", "busybox");
    }

    /// <summary>
    /// <see cref="StartAsync"/> with no options, the guest given an address of <paramref name="family"/>:
    /// a DHCP lease, or the static IPv6 address of <see cref="ConfigureStaticIpv6Async"/>.
    /// </summary>
    public static async Task<UserNetRig> StartWithAddressAsync(AddressFamily family)
    {
        var rig = await StartAsync("");
        try
        {
            if (family == AddressFamily.InterNetworkV6)
            {
                await rig.ConfigureStaticIpv6Async();
            }
            else
            {
                await rig.DhcpAsync();
            }

            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates the namespaces and starts netdevd with <c>-netdev user,id=u0,OPTIONS</c> hubbed to the tap.</summary>
    /// <param name="beforeNetdevd">Runs once the namespaces exist and before netdevd starts (host
    /// services a guestfwd device must find listening, as QEMU opens it at start).</param>
    /// <param name="vnetHeader">The tap with vnet_hdr=on (virtio-net headers between it and the user
    /// netdev, checksums and segmentation left to the kernel, as behind a QEMU virtio NIC); off by default.</param>
    /// <param name="launcher">A program netdevd runs under (it execs its arguments), such as
    /// <see cref="Harness.WithoutIpv6"/>'s; none by default.</param>
    public static async Task<UserNetRig> StartAsync(string userOptions, string? resolvConf = null, int mtu = 1500, Func<UserNetRig, Task>? beforeNetdevd = null, bool vnetHeader = false, string? launcher = null)
    {
        RequireTools();
        var user = string.IsNullOrEmpty(userOptions) ? "user,id=u0" : $"user,id=u0,{userOptions}";
        var env = (resolvConf is null ? "" : $"NETDEVD_RESOLV_CONF={resolvConf} ") + (launcher is null ? "" : $"{launcher} ");
        return await StartWithAsync(env, () => $"--netdev '{user}' --netdev hubport,id=hu,hubid=0,netdev=u0", mtu, beforeNetdevd, vnetHeader);
    }

    /// <summary>
    /// The guest behind netdevd's passt personality instead: <c>netdevd passt --foreground
    /// --socket S PASSTARGS</c> in the host namespace (its forwards listen there), and netdevd's
    /// stream netdev connected to S in the user netdev's place, as QEMU's is by libvirt.
    /// </summary>
    public static async Task<UserNetRig> StartBehindPasstAsync(string passtArgs)
    {
        RequireTools();
        string? socket = null;
        return await StartWithAsync("", () => $"--netdev stream,id=u0,server=off,addr.type=unix,addr.path={socket} --netdev hubport,id=hu,hubid=0,netdev=u0", 1500,
            async rig =>
            {
                socket = Path.Combine(rig.Dir, "passt.socket");
                var dll = Path.Combine(AppContext.BaseDirectory, "netdevd.dll");
                rig.HostServer($"dotnet {dll} passt --foreground --socket {socket} {passtArgs}");
                // Listening, not just bound: the stream netdev connects once (ss sees the sockets of its own namespace).
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (!(await rig.HostAsync($"ss -Hxl src {socket}")).Output.Contains(socket, StringComparison.Ordinal))
                {
                    Assert.True(DateTime.UtcNow < deadline, "passt's socket does not listen");
                    await Task.Delay(100);
                }
            },
            vnetHeader: false);
    }

    private static async Task<UserNetRig> StartWithAsync(string env, Func<string> front, int mtu, Func<UserNetRig, Task>? beforeNetdevd, bool vnetHeader)
    {
        var rig = new UserNetRig($"{Environment.ProcessId % 10000}{Interlocked.Increment(ref s_counter)}");
        try
        {
            await rig.SetUpAsync(env, front, mtu, beforeNetdevd, vnetHeader);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    /// <param name="front">The netdev arguments of what serves the guest, on hub 0 (read once the namespaces exist).</param>
    private async Task SetUpAsync(string env, Func<string> front, int mtu, Func<UserNetRig, Task>? beforeNetdevd, bool vnetHeader)
    {
        await Shell.CheckAsync($"ip netns add {HostNs} && ip netns add {GuestNs}");
        await Shell.CheckAsync($"ip -n {HostNs} link set lo up && ip -n {GuestNs} link set lo up && " +
            $"ip -n {HostNs} addr add {HostAddress}/32 dev lo");
        if (beforeNetdevd is not null)
        {
            await beforeNetdevd(this);
        }
        var dll = Path.Combine(AppContext.BaseDirectory, "netdevd.dll");
        _netdevd = Shell.Start($"ip netns exec {HostNs} env {env}dotnet {dll} --qmp unix:{QmpPath},server=on,wait=off " +
            $"{front()} " +
            $"--netdev tap,id=t0,ifname={Tap},script=no,downscript=no,vnet_hdr={(vnetHeader ? "on" : "off")} --netdev hubport,id=ht,hubid=0,netdev=t0",
            _log.Enqueue);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await Shell.RunAsync($"ip -n {HostNs} link show {Tap}")).Status.Equals(0))
        {
            Assert.False(_netdevd.HasExited, "netdevd exited early");
            Assert.True(DateTime.UtcNow < deadline, "the tap did not appear");
            await Task.Delay(100);
        }

        await Shell.CheckAsync($"ip -n {HostNs} link set {Tap} netns {GuestNs} && ip -n {GuestNs} link set {Tap} mtu {mtu} up");
    }

    /// <summary>
    /// Creates <see cref="ClientNs"/>, joined to the host namespace by a veth pair
    /// (<see cref="ClientLinkHost"/> / <see cref="ClientLinkClient"/> and their IPv6 twins), a
    /// client that reaches the host's forwards from an address of its own.
    /// </summary>
    public async Task AddClientNamespaceAsync()
    {
        _clientNs = true;
        await Shell.CheckAsync($"ip netns add {ClientNs} && ip -n {ClientNs} link set lo up && " +
            $"ip -n {HostNs} link add nduh{_tag} type veth peer name nduc{_tag} netns {ClientNs} && " +
            $"ip -n {HostNs} addr add {ClientLinkHost}/24 dev nduh{_tag} && ip -n {HostNs} addr add {ClientLinkHost6}/64 dev nduh{_tag} nodad && " +
            $"ip -n {ClientNs} addr add {ClientLinkClient}/24 dev nduc{_tag} && ip -n {ClientNs} addr add {ClientLinkClient6}/64 dev nduc{_tag} nodad && " +
            $"ip -n {HostNs} link set nduh{_tag} up && ip -n {ClientNs} link set nduc{_tag} up");
    }

    /// <summary>The guest's static IPv6 address (<see cref="ConfigureStaticIpv6Async"/>).</summary>
    public const string Guest6 = "fec0::15";

    /// <summary>
    /// Gives the guest IPv6 without the stack's router advertisements: a static address in the
    /// default prefix, the virtual host as default router, and permanent neighbour entries for the
    /// virtual host and DNS (libslirp's MACs 52:56:00:00:00:02 and :03).
    /// </summary>
    public async Task ConfigureStaticIpv6Async()
    {
        await Shell.CheckAsync($"ip -n {GuestNs} addr add {Guest6}/64 dev {Tap} nodad && " +
            $"ip -n {GuestNs} -6 neigh replace fec0::2 lladdr 52:56:00:00:00:02 dev {Tap} nud permanent && " +
            $"ip -n {GuestNs} -6 neigh replace fec0::3 lladdr 52:56:00:00:00:03 dev {Tap} nud permanent && " +
            $"ip -n {GuestNs} -6 route replace default via fec0::2 dev {Tap}");

        // One datagram from the guest so the stack knows its MAC before it opens a forward to it
        // (a frame to a solicited-node group is not taken by the guest's TCP). Answered or not.
        await GuestAsync("ping -6 -c 1 -W 1 fec0::2 >/dev/null 2>&1; true");
    }

    /// <summary>Waits until something listens on TCP <paramref name="port"/> in the host namespace.</summary>
    public async Task WaitListeningAsync(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await Shell.RunAsync($"ip netns exec {HostNs} ss -Hltn sport = :{port}")).Output.Trim().Length == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"nothing listens on port {port}");
            await Task.Delay(50);
        }
    }

    /// <summary>Runs a command in the guest namespace.</summary>
    public Task<(int Status, string Output)> GuestAsync(string command, TimeSpan? timeout = null) =>
        Shell.RunAsync($"ip netns exec {GuestNs} sh -c '{command}'", timeout);

    /// <summary>Runs a command in the host namespace.</summary>
    public Task<(int Status, string Output)> HostAsync(string command, TimeSpan? timeout = null) =>
        Shell.RunAsync($"ip netns exec {HostNs} sh -c '{command}'", timeout);

    /// <summary>Starts a server in the host namespace (stopped at dispose).</summary>
    public void HostServer(string command) => _servers.Add(Shell.Start($"ip netns exec {HostNs} {command}"));

    /// <summary>Starts a server in the guest namespace (stopped at dispose).</summary>
    public void GuestServer(string command) => _servers.Add(Shell.Start($"ip netns exec {GuestNs} {command}"));

    /// <summary>The guest gets its address with busybox udhcpc; returns the script's report line.</summary>
    public async Task<string> DhcpAsync()
    {
        var script = Path.Combine(Dir, "udhcpc.sh");
        await File.WriteAllTextAsync(script, """
            #!/bin/sh
            echo "event=$1 ip=$ip router=$router dns=$dns domain=$domain search=$search"
            if [ "$1" = bound ]; then ip addr add $ip/$mask dev $interface; ip route add default via $router; fi
            exit 0
            """.Replace("\r", "", StringComparison.Ordinal));
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var (status, output) = await GuestAsync($"busybox udhcpc -i {Tap} -n -q -t 5 -T 1 -s {script}", TimeSpan.FromSeconds(30));
        Assert.True(status == 0, output);
        return output;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _servers)
        {
            Shell.Stop(s);
        }

        Shell.Stop(_netdevd);
        await Shell.RunAsync($"ip netns del {GuestNs}; ip netns del {HostNs}" + (_clientNs ? $"; ip netns del {ClientNs}" : ""));
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
