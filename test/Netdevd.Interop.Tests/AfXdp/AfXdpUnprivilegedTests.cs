using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.AfXdp;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Native;
using static Netdevd.Interop.Tests.Tap.TapTestKit;

namespace Netdevd.Interop.Tests.AfXdp;

/// <summary>
/// <c>inhibit=on,sock-fds=FD</c>: a privileged helper (this test, as root) creates the AF_XDP
/// socket, attaches the XDP program and, once netdevd has bound the socket, puts it into the
/// program's map; netdevd itself runs as nobody without capabilities. Frames cross both ways
/// between the veth and a dgram netdev the test talks to over loopback.
/// </summary>
public sealed class AfXdpUnprivilegedTests
{
    [Fact]
    public async Task Netdevd_as_nobody_serves_sockets_a_privileged_helper_made()
    {
        RequireRoot();
        HostTools.Require("ethtool", "ethtool");
        var setpriv = HostTools.Require("setpriv", "util-linux");
        await using var rig = await AfXdpRig.CreateAsync("10.217.0");
        var macA = (await rig.A.CheckAsync("cat", $"/sys/class/net/{rig.VethA}/address")).Trim();

        // The helper's part: a socket netdevd inherits (no close-on-exec), the program in native mode.
        var (xsk, program, ifindex, udp) = NamespaceThread.Run(rig.X.Path, () =>
        {
            var fd = Libc.Socket(Xdp.AF_XDP, 3 /* SOCK_RAW */, 0);
            Assert.True(fd >= 0, Errno.Message(Errno.Last));
            var index = Libc.IfNameToIndex(rig.VethX);
            var p = XdpRedirectProgram.TryAttach((int)index, Xdp.XDP_FLAGS_UPDATE_IF_NOEXIST | Xdp.XDP_FLAGS_DRV_MODE, 64, out var errno);
            Assert.True(p is not null, Errno.Message(errno));
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return (fd, p!, index, s);
        });
        using var programScope = program;
        using var udpScope = udp;
        var testPort = ((IPEndPoint)udp.LocalEndPoint!).Port;
        var netdevdPort = testPort + 1;
        var dir = Directory.CreateTempSubdirectory("nd-xdp-");
        File.SetUnixFileMode(dir.FullName, (UnixFileMode)0x1ff);
        Process? daemon = null;
        try
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "netdevd.dll");
            var psi = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["HOME"] = dir.FullName;
            psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            foreach (var a in (string[])[
                "netns", "exec", rig.X.Name, setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                "dotnet", dll,
                "--netdev", $"af-xdp,id=x,ifname={rig.VethX},inhibit=on,sock-fds={xsk}",
                "--netdev", $"dgram,id=d,local.type=inet,local.host=127.0.0.1,local.port={netdevdPort},remote.type=inet,remote.host=127.0.0.1,remote.port={testPort}",
                "--netdev", "hubport,id=h0,hubid=0,netdev=x",
                "--netdev", "hubport,id=h1,hubid=0,netdev=d",
                "--qmp", $"unix:{dir.FullName}/qmp.sock,server=on,wait=off"])
            {
                psi.ArgumentList.Add(a);
            }

            daemon = Process.Start(psi)!;
            var stderr = new System.Text.StringBuilder();
            daemon.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
            daemon.BeginErrorReadLine();
            daemon.BeginOutputReadLine();

            // The helper's second part: the socket goes into the map (the kernel takes it before
            // netdevd has bound it; frames reach it once it is bound).
            var deadline = Stopwatch.StartNew();
            int rc;
            while ((rc = program.AddSocket(0, xsk)) != 0)
            {
                Assert.False(daemon.HasExited, $"netdevd exited: {stderr}");
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(90), $"the map refused the socket: {Errno.Message(rc)} {stderr}");
                await Task.Delay(200, TestContext.Current.CancellationToken);
            }

            // From the test to the veth: an ARP request for A's address; A answers, and the
            // answer comes back through the af-xdp socket to the test.
            var request = ArpRequest(IPAddress.Parse("10.217.0.9"), IPAddress.Parse("10.217.0.1"));
            var buffer = new byte[2048];
            udp.ReceiveTimeout = 1000;
            var answered = false;
            for (var attempt = 0; attempt < 60 && !answered; attempt++)
            {
                udp.SendTo(request, new IPEndPoint(IPAddress.Loopback, netdevdPort));
                try
                {
                    while (!answered)
                    {
                        var n = udp.Receive(buffer);
                        answered = n >= 42 && BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(12)) == 0x0806
                            && BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(20)) == 2
                            && Convert.ToHexString(buffer, 6, 6).Equals(macA.Replace(":", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
                    }
                }
                catch (SocketException)
                {
                    // Nothing within a second: ask again.
                }
            }

            Assert.True(answered, $"no ARP reply from A through af-xdp: {stderr}");
            Assert.Equal("65534", UidOf(daemon.Id));
            Assert.Contains("CapEff:\t0000000000000000", File.ReadAllText($"/proc/{daemon.Id}/status"), StringComparison.Ordinal);
        }
        finally
        {
            if (daemon is { HasExited: false })
            {
                daemon.Kill();
            }

            daemon?.WaitForExit();
            daemon?.Dispose();
            dir.Delete(recursive: true);

            // The helper keeps its copy of the socket until netdevd is done with it.
            Libc.Close(xsk);
        }

        _ = ifindex;
    }

    private static string UidOf(int pid)
    {
        foreach (var line in File.ReadAllLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                return line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];
            }
        }

        return "?";
    }

    private static byte[] ArpRequest(IPAddress sender, IPAddress target)
    {
        var f = new byte[60];
        f.AsSpan(0, 6).Fill(0xff);
        byte[] mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        mac.CopyTo(f, 6);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0806);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), 1);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 0x0800);
        f[18] = 6;
        f[19] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(20), 1);
        mac.CopyTo(f, 22);
        sender.GetAddressBytes().CopyTo(f, 28);
        target.GetAddressBytes().CopyTo(f, 38);
        return f;
    }
}
