using Netdevd.Backends.Tap;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Qapi.Schema;
using static Netdevd.Interop.Tests.Tap.TapTestKit;

namespace Netdevd.Interop.Tests.Tap;

/// <summary>
/// The bridge netdev through Debian's qemu-bridge-helper: a test bridge with a veth into namespace
/// A, the helper's tap on that bridge hubbed by netdevd to a tap in namespace B; ping both ways.
/// </summary>
public sealed class BridgeHelperTests
{
    private const string AclPath = "/etc/qemu/bridge.conf";

    [Fact]
    public async Task Bridge_netdev_joins_a_test_bridge()
    {
        RequireRoot();
        Assert.SkipUnless(File.Exists(Backends.Bridge.BridgeHelper.DefaultPath), $"{Backends.Bridge.BridgeHelper.DefaultPath} is missing (Debian package qemu-system-common)");
        HostTools.Require("ping", "iputils-ping");
        var bridge = TestNamespace.InterfaceName("ndbr");
        var vethHost = TestNamespace.InterfaceName("ndvh");
        var vethNs = TestNamespace.InterfaceName("ndvn");
        await using var acl = await BridgeAcl.AllowAsync(bridge);
        await using var nsA = await TestNamespace.CreateAsync();
        await using var nsB = await TestNamespace.CreateAsync();
        try
        {
            await HostCommand.CheckAsync("ip", "link", "add", bridge, "type", "bridge");
            await HostCommand.CheckAsync("ip", "link", "set", bridge, "up");
            await HostCommand.CheckAsync("ip", "link", "add", vethHost, "type", "veth", "peer", "name", vethNs);
            await HostCommand.CheckAsync("ip", "link", "set", vethHost, "master", bridge, "up");
            await nsA.AdoptAsync(vethNs, "10.202.0.1/24", 1500);

            await using var registry = NewRegistry();
            var b0 = (TapNetClient)await registry.AddAsync(new Netdev { Id = "b0", Type = NetClientDriver.Bridge, Bridge = new NetdevBridgeOptions { Br = bridge } }, NetdevOrigin.Monitor, cancellationToken: Ct);
            Assert.Equal($"helper=(null),br={bridge}", b0.Info);
            Assert.True(b0.HasVnetHeader);
            Assert.Contains($"master {bridge}", await HostCommand.CheckAsync("ip", "link", "show", b0.IfName), StringComparison.Ordinal);

            var ifB = TestNamespace.InterfaceName("ndtb");
            await registry.AddAsync(TapNetdev("tb", new NetdevTapOptions { Ifname = ifB, Script = "no", Downscript = "no" }), NetdevOrigin.Monitor, cancellationToken: Ct);
            await registry.AddAsync(Hubport("p0", 0, "b0"), NetdevOrigin.Monitor, cancellationToken: Ct);
            await registry.AddAsync(Hubport("p1", 0, "tb"), NetdevOrigin.Monitor, cancellationToken: Ct);
            await nsB.AdoptAsync(ifB, "10.202.0.2/24", 1500);

            await nsB.CheckAsync("ping", "-c", "2", "-w", "10", "10.202.0.1");
            await nsA.CheckAsync("ping", "-c", "2", "-w", "10", "10.202.0.2");
        }
        finally
        {
            await HostCommand.RunAsync("ip", "link", "del", vethHost);
            await HostCommand.RunAsync("ip", "link", "del", bridge);
        }
    }

    /// <summary>qemu-bridge-helper's ACL: adds "allow BR" (creating the file only if absent) and takes back exactly that.</summary>
    private sealed class BridgeAcl : IAsyncDisposable
    {
        private readonly string _line;
        private readonly bool _createdFile;
        private readonly bool _createdDir;

        private BridgeAcl(string line, bool createdFile, bool createdDir)
        {
            _line = line;
            _createdFile = createdFile;
            _createdDir = createdDir;
        }

        public static async Task<BridgeAcl> AllowAsync(string bridge)
        {
            var line = $"allow {bridge}";
            var dir = Path.GetDirectoryName(AclPath)!;
            var createdDir = !Directory.Exists(dir);
            Directory.CreateDirectory(dir);
            var createdFile = !File.Exists(AclPath);
            await File.AppendAllTextAsync(AclPath, line + "\n");
            return new BridgeAcl(line, createdFile, createdDir);
        }

        public async ValueTask DisposeAsync()
        {
            if (_createdFile)
            {
                File.Delete(AclPath);
                if (_createdDir)
                {
                    Directory.Delete(Path.GetDirectoryName(AclPath)!);
                }

                return;
            }

            var lines = (await File.ReadAllLinesAsync(AclPath)).Where(l => l != _line);
            await File.WriteAllLinesAsync(AclPath, lines);
        }
    }
}
