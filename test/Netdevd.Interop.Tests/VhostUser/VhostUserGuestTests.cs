using System.Net.Sockets;
using System.Security.Cryptography;
using Netdevd.Interop.Tests.Guest;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.VhostUser;

/// <summary>
/// A real Linux guest under QEMU 10 (TCG) whose virtio-net device is served by netdevd's
/// vhost-user back-end through shared memory, hubbed to a user netdev: DHCP, ping of the
/// gateway, DNS and an HTTP download from host loopback. The VM is then killed and started again
/// and gets its network back from the same netdevd; the same with QEMU as the socket server and
/// netdevd reconnecting.
/// </summary>
public sealed class VhostUserGuestTests
{
    private const string DnsAddress = "192.0.2.78";
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(180);

    [Fact]
    public Task Vm_gets_its_network_through_the_back_end_and_again_after_a_restart() =>
        RunAsync(netdevdIsServer: true);

    [Fact]
    public Task Vm_as_socket_server_gets_its_network_and_netdevd_reconnects_after_a_restart() =>
        RunAsync(netdevdIsServer: false);

    /// <summary>packed=on: the guest's driver runs packed virtqueues, which netdevd must offer and serve.</summary>
    [Fact]
    public Task Vm_on_packed_rings_gets_its_network_through_the_back_end_and_again_after_a_restart() =>
        RunAsync(netdevdIsServer: true, packed: true);

    private static async Task RunAsync(bool netdevdIsServer, bool packed = false)
    {
        var qemu = Qemu10.Find(out var missing);
        Assert.SkipWhen(qemu is null, missing);
        var dnsmasq = HostTools.Require("dnsmasq", "dnsmasq-base");
        var busybox = StaticBusybox.Require();
        var kernel = GuestKernel.Find();
        Assert.SkipWhen(kernel is null, "no Debian kernel with its modules (package linux-image-amd64; ./test.sh installs it as root)");
        Assert.SkipUnless(HostTools.IsRoot || GuestVmTests.CanRead(kernel!.Image), $"{kernel!.Image} is not readable by this user");

        var dir = HostTools.TempDir();
        var processes = new List<CapturedProcess>();
        try
        {
            var host = await GuestHostServices.StartAsync(dir, processes, dnsmasq, busybox, DnsAddress, 2 << 20);
            var resolv = Path.Combine(dir, "resolv.conf");
            await File.WriteAllTextAsync(resolv, host.ResolvConf);

            var initrd = Path.Combine(dir, "initrd.gz");
            Assert.Contains("virtio_net", GuestInitramfs.Write(initrd, busybox, kernel, GuestHostServices.DnsName, host.HttpPort, GuestHostServices.PayloadFile));

            var socket = Path.Combine(dir, "vhost.sock");
            var backend = netdevdIsServer
                ? $"vhost-user-backend,id=v,addr.type=unix,addr.path={socket}"
                : $"vhost-user-backend,id=v,addr.type=unix,addr.path={socket},server=off,reconnect-ms=200";
            var dll = Path.Combine(AppContext.BaseDirectory, "netdevd.dll");
            var netdevd = GuestVmTests.Track(processes, CapturedProcess.Start("dotnet", [
                dll, "--netdev", "user,id=u", "--netdev", backend,
                "--netdev", "hubport,id=h0,hubid=0,netdev=u", "--netdev", "hubport,id=h1,hubid=0,netdev=v"],
                new Dictionary<string, string> { ["NETDEVD_RESOLV_CONF"] = resolv, ["XDG_RUNTIME_DIR"] = dir }));
            Assert.True(await netdevd.WaitForAsync("ready", TimeSpan.FromSeconds(60)), $"netdevd did not start:\n{netdevd.Output}");

            for (var run = 1; run <= 2; run++)
            {
                // The thread the user netdev's host side runs on before this VM: its own in the
                // first run, the first session's queue thread in the second (listed as user-u once
                // that VM was gone and it served the user netdev alone).
                var before = 0;
                Assert.True(SpinWait.SpinUntil(() => (before = ThreadIdOf(netdevd.Pid, "user-u")) != 0, TimeSpan.FromSeconds(10)),
                    $"run {run}: no user-u thread\n--- threads ---\n{string.Join(", ", Threads(netdevd.Pid))}");
                var chardev = netdevdIsServer ? $"socket,id=c,path={socket}" : $"socket,id=c,path={socket},server=on";
                string[] arguments = [.. qemu!.BaseArguments, "-m", "256", "-nographic", "-no-reboot",
                    "-object", "memory-backend-memfd,id=m,size=256M,share=on", "-numa", "node,memdev=m",
                    "-chardev", chardev, "-netdev", "vhost-user,id=n,chardev=c", "-device", packed ? "virtio-net-pci,netdev=n,romfile=,packed=on" : "virtio-net-pci,netdev=n,romfile=",
                    "-kernel", kernel.Image, "-initrd", initrd, "-append", GuestKernel.CommandLine];
                using var vm = CapturedProcess.Start(qemu.Binary, arguments, qemu.Environment);
                var finished = await vm.WaitForAsync($"{GuestInitramfs.Marker} done", GuestTimeout);
                var context = $"run {run}: QEMU {string.Join(' ', arguments)}\n--- console ---\n{vm.Output}\n--- netdevd ---\n{netdevd.Output}";
                Assert.True(finished, $"the guest did not finish within {GuestTimeout.TotalSeconds} s\n{context}");
                var results = GuestVmTests.Results(vm.Output);
                Assert.True(results.GetValueOrDefault("ip") == "10.0.2.15", context);
                Assert.True(results.GetValueOrDefault("ping") == "ok", context);
                Assert.True(results.GetValueOrDefault("resolved") == DnsAddress, context);
                Assert.True(results.GetValueOrDefault("sha256") == Convert.ToHexStringLower(SHA256.HashData(host.Payload)), context);

                // The rings really were packed (QEMU drops RING_PACKED when the back-end does not offer it, and the guest falls back to split rings).
                Assert.True(netdevd.Output.Contains(packed ? ": packed rings" : ": split rings", StringComparison.Ordinal), context);

                // The user netdev's host side followed the VM's frames onto this session's queue
                // thread, so the thread it ran on before has ended.
                Assert.True(SpinWait.SpinUntil(() => !Threads(netdevd.Pid).Any(t => t.Id == before), TimeSpan.FromSeconds(10)),
                    $"{context}\n--- threads (user-u was {before}) ---\n{string.Join(", ", Threads(netdevd.Pid))}");

                // The VM is killed, not shut down (if it has not powered off already): the back-end
                // must notice and serve the next one. The queue thread now serves the user netdev
                // alone and is listed under its name.
                vm.Dispose();
                Assert.False(netdevd.HasExited, context);
                Assert.True(SpinWait.SpinUntil(() => ThreadIdOf(netdevd.Pid, "user-u") is not 0 and var id && id != before, TimeSpan.FromSeconds(10)),
                    $"{context}\n--- threads (user-u was {before}) ---\n{string.Join(", ", Threads(netdevd.Pid))}");
            }
        }
        finally
        {
            for (var i = processes.Count - 1; i >= 0; i--)
            {
                processes[i].Dispose();
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A process's threads (<c>ps -L</c>): id and name; a thread that ends while listed is left out.</summary>
    private static List<(int Id, string Name)> Threads(int pid)
    {
        var threads = new List<(int, string)>();
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                threads.Add((int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n')));
            }
            catch (IOException)
            {
                // Ended between the listing and the read.
            }
        }

        return threads;
    }

    /// <summary>The id of <paramref name="pid"/>'s thread named <paramref name="name"/>; 0 when there is none.</summary>
    private static int ThreadIdOf(int pid, string name) => Threads(pid).FirstOrDefault(t => t.Name == name).Id;
}
