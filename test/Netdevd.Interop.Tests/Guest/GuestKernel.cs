using System.Diagnostics;
using System.IO.Compression;

namespace Netdevd.Interop.Tests.Guest;

/// <summary>
/// The installed Debian kernel (package linux-image-amd64): its image in /boot and its modules
/// under /lib/modules/VERSION, which must match it because the guest loads them into it.
/// </summary>
internal sealed class GuestKernel
{
    /// <summary>The virtio-net stack in dependency order (DESIGN.md, Testing).</summary>
    public static readonly string[] NetModules =
        ["virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "failover", "net_failover", "virtio_net"];

    /// <summary>
    /// The guest's kernel command line. no_timer_check: under TCG on a loaded host the kernel's
    /// check of the IO-APIC timer can miss its ticks and panic ("IO-APIC + timer doesn't work!",
    /// seen in a full run at load 16); the check proves nothing about an emulated PIT.
    /// </summary>
    public const string CommandLine = "console=ttyS0 panic=-1 quiet no_timer_check";

    private GuestKernel(string image, string modulesDir)
    {
        Image = image;
        ModulesDir = modulesDir;
    }

    public string Image { get; }

    public string ModulesDir { get; }

    /// <summary>The newest /boot/vmlinuz-VERSION that has /lib/modules/VERSION, or null.</summary>
    public static GuestKernel? Find()
    {
        if (!System.IO.Directory.Exists("/boot"))
        {
            return null;
        }

        foreach (var image in System.IO.Directory.GetFiles("/boot", "vmlinuz-*").OrderDescending(StringComparer.Ordinal))
        {
            var version = Path.GetFileName(image)["vmlinuz-".Length..];
            var modules = Path.Combine("/lib/modules", version);
            if (System.IO.Directory.Exists(Path.Combine(modules, "kernel")))
            {
                return new GuestKernel(image, modules);
            }
        }

        return null;
    }

    /// <summary>
    /// The module's bytes ready for busybox insmod, which takes only plain ELF: a .ko.gz or
    /// .ko.xz (kernels built with module compression) is decompressed here. Null when the
    /// module is not a file, i.e. built into this kernel.
    /// </summary>
    public byte[]? LoadModule(string name)
    {
        var file = System.IO.Directory.EnumerateFiles(Path.Combine(ModulesDir, "kernel"), name + ".ko*", SearchOption.AllDirectories)
            .FirstOrDefault(f => Path.GetFileName(f) is var n && (n == name + ".ko" || n == name + ".ko.xz" || n == name + ".ko.gz"));
        if (file is null)
        {
            return null;
        }

        if (file.EndsWith(".gz", StringComparison.Ordinal))
        {
            using var gz = new GZipStream(System.IO.File.OpenRead(file), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gz.CopyTo(plain);
            return plain.ToArray();
        }

        return file.EndsWith(".xz", StringComparison.Ordinal) ? Unxz(file) : System.IO.File.ReadAllBytes(file);
    }

    /// <summary>.NET has no xz decoder; the xz tool comes with every Debian system (xz-utils is required).</summary>
    private static byte[] Unxz(string file)
    {
        var start = new ProcessStartInfo("xz") { RedirectStandardOutput = true, UseShellExecute = false, ArgumentList = { "-dc", file } };
        using var xz = Process.Start(start)!;
        using var plain = new MemoryStream();
        xz.StandardOutput.BaseStream.CopyTo(plain);
        xz.WaitForExit();
        Assert.True(xz.ExitCode == 0, $"xz -dc {file} exited {xz.ExitCode}");
        return plain.ToArray();
    }
}
