using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using Netdevd.Interop.Tests.Guest;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// netdevd as passt, started with exactly the command line libvirt 11 gives passt
/// (/work/shared/reference/clients.md), and a real VM on it: QEMU 7.2 with the -netdev libvirt
/// gives QEMU, Debian's kernel and a busybox initramfs that gets DHCP, pings the gateway,
/// resolves through 10.0.2.3, downloads from the host, and then serves the download on port 80,
/// which the host fetches through the forwarded port. With --one-off, passt leaves with the VM.
/// The same with --vhost-user and QEMU 10 as libvirt runs them for a vhostuser interface.
/// </summary>
public sealed class PasstVmTests
{
    private const string DnsAddress = "192.0.2.78";
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(150);

    [Fact]
    public Task Libvirt_command_line_serves_a_vm_forwards_a_port_and_leaves_with_it() =>
        RunAsync(vhostUser: false);

    /// <summary>
    /// libvirt's <c>&lt;interface type='vhostuser'&gt;&lt;backend type='passt'/&gt;</c>: the same
    /// passt command line plus --vhost-user, and QEMU 10 (7.2 crashes under TCG with vhost-user)
    /// with libvirt's chardev (reconnect-ms=5000), -netdev vhost-user and shared memfd memory.
    /// </summary>
    [Fact]
    public Task Libvirt_vhost_user_command_line_serves_a_vm_forwards_a_port_and_leaves_with_it() =>
        RunAsync(vhostUser: true);

    private static async Task RunAsync(bool vhostUser)
    {
        Netdevd.Interop.Tests.VhostUser.Qemu10? qemu10 = null;
        string qemu;
        if (vhostUser)
        {
            qemu10 = Netdevd.Interop.Tests.VhostUser.Qemu10.Find(out var why);
            Assert.SkipWhen(qemu10 is null, why);
            qemu = qemu10!.Binary;
        }
        else
        {
            qemu = HostTools.Require("qemu-system-x86_64", "qemu-system-x86");
        }

        var dnsmasq = HostTools.Require("dnsmasq", "dnsmasq-base");
        var curl = HostTools.Require("curl", "curl");
        var busybox = StaticBusybox.Require();
        var kernel = GuestKernel.Find();
        Assert.SkipWhen(kernel is null, "no Debian kernel with its modules (package linux-image-amd64; ./test.sh installs it as root)");
        Assert.SkipUnless(GuestVmTests.CanRead(kernel!.Image), $"{kernel.Image} is not readable by this user");

        var dir = HostTools.TempDir();
        File.SetUnixFileMode(dir, (UnixFileMode)0x1FF); // 0777: passt runs as another user, as libvirt's qemu user
        var processes = new List<CapturedProcess>();
        int? daemonPid = null;
        try
        {
            var host = await GuestHostServices.StartAsync(dir, processes, dnsmasq, busybox, DnsAddress, 1 << 20);
            var resolv = Path.Combine(dir, "resolv.conf");
            await File.WriteAllTextAsync(resolv, host.ResolvConf);
            File.SetUnixFileMode(resolv, (UnixFileMode)0x1A4);

            // What libvirt ran: plain "passt" from its PATH, as its qemu user, in /, stdin /dev/null.
            var bin = Directory.CreateDirectory(Path.Combine(dir, "bin")).FullName;
            File.CreateSymbolicLink(Path.Combine(bin, "passt"), Path.Combine(AppContext.BaseDirectory, "netdevd"));
            var socket = Path.Combine(dir, "1-guest-net0.socket");
            var pidFile = Path.Combine(dir, "1-guest-net0-passt.pid");
            var log = Path.Combine(dir, "passt.log");
            var forwarded = HostTools.FreePort();
            string[] passtArgs = vhostUser
                ? ["--one-off", "--socket", socket, "--pid", pidFile, "--log-file", log, "--tcp-ports", $"{forwarded}:80", "--vhost-user"]
                : ["--one-off", "--socket", socket, "--pid", pidFile, "--log-file", log, "--tcp-ports", $"{forwarded}:80"];
            var start = new ProcessStartInfo(HostTools.IsRoot && HostTools.Find("setpriv") is { } setpriv ? setpriv : Path.Combine(bin, "passt"))
            {
                WorkingDirectory = "/",
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            if (HostTools.IsRoot && HostTools.Find("setpriv") is not null)
            {
                foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", Path.Combine(bin, "passt") })
                {
                    start.ArgumentList.Add(a);
                }
            }

            foreach (var a in passtArgs)
            {
                start.ArgumentList.Add(a);
            }

            start.Environment["NETDEVD_RESOLV_CONF"] = resolv;
            start.Environment["DOTNET_CLI_HOME"] = dir;
            using (var first = Process.Start(start)!)
            {
                first.StandardInput.Close();
                var stderrTask = first.StandardError.ReadToEndAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await first.WaitForExitAsync(timeout.Token);
                // The first process exits only once the socket listens, with 0; libvirt then reads the pid file.
                Assert.True(first.ExitCode == 0, $"passt exited {first.ExitCode}: {await stderrTask}");
            }

            Assert.True(File.Exists(socket), "the socket does not exist when passt's first process has exited");
            daemonPid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture);
            Assert.True(Directory.Exists($"/proc/{daemonPid}"), "the daemon named by the pid file is not running");

            var initrd = Path.Combine(dir, "initrd.gz");
            _ = GuestInitramfs.Write(initrd, busybox, kernel!, GuestHostServices.DnsName, host.HttpPort, GuestHostServices.PayloadFile, serveSeconds: 30);
            string[] common = ["-m", "256", "-nographic", "-no-reboot", "-kernel", kernel!.Image, "-initrd", initrd, "-append", GuestKernel.CommandLine];
            string[] qemuArgs = vhostUser
                ? [
                    // What libvirt gives QEMU for type='vhostuser' with passt: a client chardev that
                    // reconnects, the vhost-user netdev on it, and guest memory the back-end can map.
                    .. qemu10!.BaseArguments, .. common,
                    "-object", "memory-backend-memfd,id=pc.ram,size=256M,share=on", "-numa", "node,memdev=pc.ram",
                    "-chardev", $"socket,id=charnet0,path={socket},reconnect-ms=5000",
                    "-netdev", """{"type":"vhost-user","chardev":"charnet0","id":"hostnet0"}""",
                    "-device", "virtio-net-pci,netdev=hostnet0,id=net0,romfile="]
                : [
                    "-netdev", $$"""{"type":"stream","addr":{"type":"unix","path":"{{socket}}"},"server":false,"id":"hostnet0"}""",
                    "-device", "virtio-net-pci,netdev=hostnet0,id=net0",
                    "-M", "pc", .. common];
            var vm = GuestVmTests.Track(processes, CapturedProcess.Start(qemu, qemuArgs, qemu10?.Environment));
            var serving = await vm.WaitForAsync($"{GuestInitramfs.Marker} serving=80", GuestTimeout);
            string Context() => $"--- console ---\n{vm.Output}\n--- passt log ---\n{(File.Exists(log) ? File.ReadAllText(log) : "(none)")}";
            Assert.True(serving, $"the guest did not get to serving\n{Context()}");
            var results = GuestVmTests.Results(vm.Output);
            Assert.True(results.GetValueOrDefault("ip") == "10.0.2.15", Context());
            Assert.True(results.GetValueOrDefault("ping") == "ok", Context());
            Assert.True(results.GetValueOrDefault("resolved") == DnsAddress, Context());
            var sha = Convert.ToHexStringLower(SHA256.HashData(host.Payload));
            Assert.True(results.GetValueOrDefault("sha256") == sha, Context());

            // The forward libvirt asked for: host port -> guest port 80.
            var fetched = Path.Combine(dir, "fetched.bin");
            var (code, _, err) = await Netdevd.Interop.Tests.Tap.HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), curl, "-s", "--max-time", "40", "-o", fetched, $"http://127.0.0.1:{forwarded}/payload");
            Assert.True(code == 0, $"curl through the forwarded port: {err}\n{Context()}");
            Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(fetched))));
            FrameThreads.AssertOne(daemonPid.Value);

            Assert.True(await vm.WaitForAsync($"{GuestInitramfs.Marker} done", GuestTimeout), Context());
            Assert.True(vm.WaitForExit(TimeSpan.FromSeconds(30)), $"QEMU did not exit after poweroff -f\n{Context()}");

            // --one-off: the VM gone, passt leaves by itself and takes its socket with it.
            var gone = false;
            for (var i = 0; i < 300 && !gone; i++)
            {
                gone = !Directory.Exists($"/proc/{daemonPid}");
                if (!gone)
                {
                    await Task.Delay(100);
                }
            }

            Assert.True(gone, $"passt (pid {daemonPid}) still runs after its one client left\n{Context()}");
            Assert.False(File.Exists(socket));
            daemonPid = null;
        }
        finally
        {
            for (var i = processes.Count - 1; i >= 0; i--)
            {
                processes[i].Dispose();
            }

            if (daemonPid is { } pid && Directory.Exists($"/proc/{pid}"))
            {
                // Ours: started by this test (its pid file), as libvirt's destroy would.
                using var daemon = Process.GetProcessById(pid);
                daemon.Kill();
            }

            Directory.Delete(dir, recursive: true);
        }
    }
}
