using System.Net;
using Microsoft.Win32.SafeHandles;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Native;
using static Netdevd.Interop.Tests.L2tpv3.L2tpv3InteropKit;

namespace Netdevd.Interop.Tests.L2tpv3;

/// <summary>
/// netdevd's l2tpv3 against the Linux kernel's L2TPv3 (l2tp_eth over l2tp_core, encap udp or
/// ip). Namespace A holds a kernel tunnel and session whose l2tpeth interface has an address;
/// namespace B holds netdevd's socket (created on a thread moved into B) and the two are joined
/// by a veth pair. Behind netdevd a small ARP/ICMP host answers and sends pings.
/// </summary>
/// <remarks>
/// The kernel's default L2-specific sublayer for an ethernet session (iproute2's
/// <c>l2spec_type default</c>) is 4 bytes, sent as 0 unless sequencing is on: that is QEMU's
/// <c>counter=on</c> (with <c>pincounter=on</c> to send 0 as the kernel does; plain counter
/// values are accepted too, as the kernel only looks at them when bit 30, the S bit, is set).
/// <c>l2spec_type none</c> is QEMU without counter.
/// </remarks>
public sealed class L2tpv3KernelInteropTests
{
    public static TheoryData<string, string, string> Cases => new()
    {
        // encap, kernel session options, netdevd options
        { "udp", "", "counter=on,pincounter=on" },
        { "udp", "l2spec_type none cookie 0011223344556677 peer_cookie 8899aabbccddeeff", "cookie64=on,txcookie=0x8899aabbccddeeff,rxcookie=0x0011223344556677" },
        { "ip", "cookie 01020304 peer_cookie 05060708", "counter=on,txcookie=0x05060708,rxcookie=0x01020304" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Kernel_session_and_netdevd_ping_each_other(string encap, string kernelSession, string netdevdOptions)
    {
        Assert.SkipUnless(HostTools.IsRoot, "needs root: network namespaces and kernel L2TP tunnels");
        HostTools.Require("ip", "iproute2");
        RequireKernelL2tp();

        using var a = NetnsScope.Create("nd-l2a");
        using var b = NetnsScope.Create("nd-l2b");
        var veth = $"ndl2{Random.Shared.Next(10000)}";
        NetnsScope.Run("ip", "link", "add", veth + "a", "netns", a.Name, "type", "veth", "peer", "name", veth + "b", "netns", b.Name);
        a.Exec("ip", "addr", "add", "10.201.0.1/24", "dev", veth + "a");
        a.Exec("ip", "link", "set", veth + "a", "up");
        b.Exec("ip", "addr", "add", "10.201.0.2/24", "dev", veth + "b");
        b.Exec("ip", "link", "set", veth + "b", "up");

        string[] tunnel = ["l2tp", "add", "tunnel", "tunnel_id", "10", "peer_tunnel_id", "20", "encap", encap, "local", "10.201.0.1", "remote", "10.201.0.2"];
        if (encap == "udp")
        {
            tunnel = [.. tunnel, "udp_sport", "5000", "udp_dport", "6000"];
        }

        a.Exec("ip", tunnel);
        a.Exec("ip", ["l2tp", "add", "session", "name", "l2tpnd0", "tunnel_id", "10", "session_id", "100", "peer_session_id", "200", .. kernelSession.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        a.Exec("ip", "addr", "add", "10.202.0.1/24", "dev", "l2tpnd0");
        a.Exec("ip", "link", "set", "l2tpnd0", "up");

        var spec = $"l2tpv3,id=l0,src=10.201.0.2,dst=10.201.0.1,txsession=100,rxsession=200,{netdevdOptions}";
        if (encap == "udp")
        {
            spec += ",udp=on,srcport=6000,dstport=5000";
        }

        await using var r = NewRegistry();
        var netdev = Netdevd.Qapi.Options.NetdevSpecParser.Parse(spec);
        InNamespace(b.Name, () => r.AddAsync(netdev, NetdevOrigin.CommandLineLegacy).GetAwaiter().GetResult());
        var host = new Ipv4PingPeer("nic0", IPAddress.Parse("10.202.0.2"), [0x52, 0x54, 0x00, 0x4e, 0x44, 0x02]);
        r.AttachNic("l0", host.Client);

        var (code, output) = a.TryExec("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.202.0.2");
        Assert.True(code == 0, $"ping from the kernel's session failed: {output}");
        Assert.True(host.Ping(IPAddress.Parse("10.202.0.1"), 7, TimeSpan.FromSeconds(5)), "the kernel's session did not answer netdevd's ping");
    }

    private static void RequireKernelL2tp()
    {
        if (HostTools.Find("modprobe") is { } modprobe)
        {
            _ = NetnsScope.TryRun(modprobe, "-q", "-a", "l2tp_eth", "l2tp_ip", "l2tp_ip6");
        }

        var (code, output) = NetnsScope.TryRun("ip", "l2tp", "show", "tunnel");
        Assert.SkipWhen(code != 0, $"this kernel has no L2TP (l2tp_core/l2tp_eth/l2tp_ip built in or as modules): 'ip l2tp show tunnel' says: {output.Trim()}");
    }

    /// <summary>Runs <paramref name="action"/> on a thread of its own moved into netns <paramref name="name"/>, so sockets it creates live there.</summary>
    private static void InNamespace(string name, Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using SafeFileHandle ns = File.OpenHandle($"/var/run/netns/{name}");
                if (Libc.SetNs((int)ns.DangerousGetHandle(), Libc.CLONE_NEWNET) < 0)
                {
                    throw new IOException($"setns: {Errno.Message(Errno.Last)}");
                }

                action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw failure;
        }
    }
}
