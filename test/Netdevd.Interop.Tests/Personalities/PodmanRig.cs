using System.Diagnostics;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// podman with everything private to one test directory: storage (vfs), run root, a
/// containers.conf that names netdevd (a symlink called slirp4netns) as the network helper and
/// runc as the runtime (crun fails on this machine's hybrid cgroups), and a busybox image.
/// </summary>
internal sealed class PodmanRig
{
    private readonly string _dir;

    private PodmanRig(string dir) => _dir = dir;

    public static async Task<PodmanRig> CreateAsync(string dir, string busybox)
    {
        var bin = Directory.CreateDirectory(Path.Combine(dir, "bin")).FullName;
        Slirp4netnsProcess.Symlink(bin);
        await File.WriteAllTextAsync(Path.Combine(dir, "containers.conf"), $"""
            [engine]
            runtime="runc"
            network_cmd_path="{bin}/slirp4netns"
            helper_binaries_dir=["{bin}"]
            [containers]
            default_ulimits=["nofile=4096:4096","nproc=4096:4096"]

            """);
        var rootfs = Path.Combine(dir, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        Directory.CreateDirectory(Path.Combine(rootfs, "www"));
        File.Copy(busybox, Path.Combine(rootfs, "bin", "busybox"));
        await File.WriteAllTextAsync(Path.Combine(rootfs, "www", "index.html"), "hello-from-container\n");
        // Relative links: busybox --install would point them at this host path, absent in the container.
        foreach (var applet in (await HostCommand.CheckAsync(busybox, "--list")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (applet != "busybox")
            {
                File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
            }
        }
        var rig = new PodmanRig(dir);
        var import = rig.StartInfo("import", "-", "localhost/bb");
        import.FileName = "sh";
        import.ArgumentList.Clear();
        import.ArgumentList.Add("-c");
        import.ArgumentList.Add($"tar -C {rootfs} -c . | podman {string.Join(' ', rig.GlobalOptions)} import - localhost/bb");
        var (code, _, stderr) = await RunAsync(import);
        Assert.True(code == 0, $"podman import: {stderr}");
        return rig;
    }

    private string[] GlobalOptions => ["--root", Path.Combine(_dir, "root"), "--runroot", Path.Combine(_dir, "runroot"), "--storage-driver", "vfs"];

    public ProcessStartInfo StartInfo(params string[] args)
    {
        var start = new ProcessStartInfo("podman")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in GlobalOptions.Concat(args))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["CONTAINERS_CONF"] = Path.Combine(_dir, "containers.conf");
        return start;
    }

    public Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(StartInfo(args));

    /// <summary>Removes the test's containers, then its storage (vfs layers are plain directories, nothing is mounted).</summary>
    public static async Task CleanAsync(string dir)
    {
        if (File.Exists(Path.Combine(dir, "containers.conf")))
        {
            await RunAsync(new PodmanRig(dir).StartInfo("rm", "--all", "--force"));
        }

        Directory.Delete(dir, recursive: true);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
