using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.AfXdp;
using Netdevd.Backends.Io;
using Netdevd.Backends.Tap;
using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Tap;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;

namespace Netdevd.Interop.Tests.AfXdp;

/// <summary>
/// Three namespaces of the test's own: X holds one end of a veth pair with an af-xdp netdev on
/// it, A the other end (SUBNET.1), B a netdevd tap (SUBNET.2); af-xdp and tap are joined by
/// hub 0. So A and B talk only through AF_XDP, the hub and the tap.
/// </summary>
internal sealed class AfXdpRig : IAsyncDisposable
{
    private AfXdpRig(TestNamespace x, TestNamespace a, TestNamespace b, string vethX, string vethA, NetdevRegistry registry, string subnet)
    {
        X = x;
        A = a;
        B = b;
        VethX = vethX;
        VethA = vethA;
        Registry = registry;
        Subnet = subnet;
    }

    public TestNamespace X { get; }

    public TestNamespace A { get; }

    public TestNamespace B { get; }

    public string VethX { get; }

    public string VethA { get; }

    public NetdevRegistry Registry { get; }

    public string Subnet { get; }

    public AfXdpNetClient? Xdp { get; private set; }

    public TapNetClient? Tap { get; private set; }

    public static NetdevRegistry NewRegistry() =>
        new([new AfXdpNetdevFactory(), new TapNetdevFactory(), new HubportNetdevFactory()], new NoEvents(), NullLoggerFactory.Instance);

    /// <summary>A registry whose af-xdp netdevs run on <paramref name="pool"/>'s threads.</summary>
    public static NetdevRegistry NewRegistry(IoThreadPool pool) =>
        new([new AfXdpNetdevFactory(pool), new HubportNetdevFactory()], new NoEvents(), NullLoggerFactory.Instance);

    /// <summary>The namespaces and the veth pair (<paramref name="queues"/> queues each way, set with ethtool -L), no netdev yet.</summary>
    /// <param name="registry">Where the netdevs go (by default one of <see cref="NewRegistry()"/>'s); the rig disposes it.</param>
    public static async Task<AfXdpRig> CreateAsync(string subnet, int queues = 1, int mtu = 1500, NetdevRegistry? registry = null)
    {
        var x = await TestNamespace.CreateAsync();
        var a = await TestNamespace.CreateAsync();
        var b = await TestNamespace.CreateAsync();
        var vethX = TestNamespace.InterfaceName("ndxx");
        var vethA = TestNamespace.InterfaceName("ndxa");
        var rig = new AfXdpRig(x, a, b, vethX, vethA, registry ?? NewRegistry(), subnet);
        try
        {
            var q = queues.ToString(CultureInfo.InvariantCulture);
            await x.CheckAsync("ip", "link", "add", vethX, "numtxqueues", "4", "numrxqueues", "4", "type", "veth",
                "peer", "name", vethA, "netns", a.Name, "numtxqueues", "4", "numrxqueues", "4");
            await x.CheckAsync("ethtool", "-L", vethX, "rx", q, "tx", q);
            await a.CheckAsync("ethtool", "-L", vethA, "rx", q, "tx", q);

            // AF_XDP has no offloads: frames reach the socket as the sender left them, so A's
            // kernel must finish its checksums itself (a veth leaves them to the receiver).
            await a.CheckAsync("ethtool", "-K", vethA, "tx", "off");
            var m = mtu.ToString(CultureInfo.InvariantCulture);
            await x.CheckAsync("ip", "link", "set", vethX, "mtu", m, "up");
            await a.CheckAsync("ip", "link", "set", vethA, "mtu", m, "up");
            await a.CheckAsync("ip", "addr", "add", subnet + ".1/24", "dev", vethA);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates a netdev from inside X (if_nametoindex and the sockets are per namespace).</summary>
    public Task<NetClient> AddInXAsync(Netdev netdev) =>
        Task.FromResult(NamespaceThread.Run(X.Path, () => Registry.AddAsync(netdev, NetdevOrigin.Monitor).GetAwaiter().GetResult()));

    public static Netdev AfXdp(string id, NetdevAFXDPOptions options) => new() { Id = id, Type = NetClientDriver.AfXdp, AfXdp = options };

    /// <summary>af-xdp on X's veth and a tap in B, hubbed.</summary>
    public async Task ConnectAsync(AFXDPMode? mode, int queues = 1, int tapMtu = 1500)
    {
        Xdp = (AfXdpNetClient)await AddInXAsync(AfXdp("x0", new NetdevAFXDPOptions { Ifname = VethX, Mode = mode, Queues = queues == 1 ? null : queues }));
        var ifTap = TestNamespace.InterfaceName("ndxt");
        Tap = (TapNetClient)await Registry.AddAsync(TapTestKit.TapNetdev("t0", new NetdevTapOptions { Ifname = ifTap, Script = "no", Downscript = "no", VnetHdr = false }), NetdevOrigin.Monitor);
        await Registry.AddAsync(TapTestKit.Hubport("p0", 0, "x0"), NetdevOrigin.Monitor);
        await Registry.AddAsync(TapTestKit.Hubport("p1", 0, "t0"), NetdevOrigin.Monitor);
        await B.AdoptAsync(ifTap, Subnet + ".2/24", tapMtu);
    }

    /// <summary>
    /// Where the frames are when a test fails: the af-xdp netdev's queues and rings, the tap's
    /// counts, and what the kernel counted on both veth ends, each a moment apart (a stall holds
    /// still, a slow path moves on).
    /// </summary>
    public async Task<string> DescribeAsync()
    {
        var text = new System.Text.StringBuilder();
        for (var look = 0; look < 2; look++)
        {
            if (look > 0)
            {
                await Task.Delay(2000);
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"-- look {look + 1}");
            text.AppendLine(Xdp?.Describe() ?? "no af-xdp netdev");
            if (Tap is { } tap)
            {
                var s = tap.Stats;
                text.AppendLine(CultureInfo.InvariantCulture, $"tap '{tap.Name}': sent {s.SentFrames}, received {s.ReceivedFrames}, queued {s.Queued}, dropped {s.Dropped}");
            }

            text.AppendLine(await KernelCountsAsync(X, VethX));
            text.AppendLine(await KernelCountsAsync(A, VethA));
        }

        return text.ToString();
    }

    private static async Task<string> KernelCountsAsync(TestNamespace ns, string ifname)
    {
        var (_, stdout, stderr) = await ns.RunAsync("ip", "-s", "-s", "link", "show", ifname);
        return stdout.Length > 0 ? stdout.TrimEnd() : stderr.TrimEnd();
    }

    /// <summary>What `ip link` says of X's veth (the attach mode shows as "xdpgeneric" or "xdp").</summary>
    public Task<string> LinkOfXAsync() => X.CheckAsync("ip", "-d", "link", "show", VethX);

    public async ValueTask DisposeAsync()
    {
        await Registry.DisposeAsync();
        await X.DisposeAsync();
        await A.DisposeAsync();
        await B.DisposeAsync();
    }

    private sealed class NoEvents : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
