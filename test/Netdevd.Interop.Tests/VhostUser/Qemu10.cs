namespace Netdevd.Interop.Tests.VhostUser;

/// <summary>
/// QEMU 10 from bookworm-backports, unpacked by tools/qemu10.sh (test.sh runs it) beside the
/// system's QEMU 7.2, which crashes under TCG once a guest sets up a vhost-user device.
/// </summary>
internal sealed class Qemu10
{
    private Qemu10(string root) => Root = root;

    public string Root { get; }

    public string Binary => Path.Combine(Root, "usr/bin/qemu-system-x86_64");

    /// <summary>QEMU_MODULE_DIR: its own modules, never Debian 7.2's from /usr/lib.</summary>
    public IDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["QEMU_MODULE_DIR"] = Path.Combine(Root, "usr/lib/x86_64-linux-gnu/qemu"),
    };

    /// <summary>Its firmware directories (-L), for a command line whose machine someone else gives (libvirt's).</summary>
    public IEnumerable<string> FirmwareArguments =>
        ["-L", Path.Combine(Root, "usr/share/qemu"), "-L", Path.Combine(Root, "usr/share/seabios")];

    /// <summary>Firmware directories and a machine that loads no audio module.</summary>
    public IEnumerable<string> BaseArguments => [.. FirmwareArguments, "-audiodev", "none,id=snd0", "-M", "pc,pcspk-audiodev=snd0"];

    /// <summary>The unpacked tree (NETDEVD_QEMU10_DIR, else /var/cache/netdevd-qemu10), or null with the reason.</summary>
    public static Qemu10? Find(out string reason)
    {
        var root = System.Environment.GetEnvironmentVariable("NETDEVD_QEMU10_DIR") is { Length: > 0 } dir ? dir : "/var/cache/netdevd-qemu10";
        var qemu = new Qemu10(root);
        if (!File.Exists(qemu.Binary) || !File.Exists(Path.Combine(root, ".complete")))
        {
            reason = $"QEMU 10 is not unpacked in {root} (tools/qemu10.sh does it; test.sh runs it as root)";
            return null;
        }

        reason = "";
        return qemu;
    }
}
