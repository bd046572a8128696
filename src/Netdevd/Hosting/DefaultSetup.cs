using System.Text;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;
using Netdevd.Startup;

namespace Netdevd.Hosting;

/// <summary>
/// What <c>netdevd</c> with no arguments builds: a QMP monitor and hub 0 joining a <c>user</c>
/// netdev (the NAT network 10.0.2.0/24 with DHCP and DNS, as QEMU's <c>-netdev user</c>) and a
/// stream server on a unix socket that a VM attaches to with QEMU's own <c>-netdev stream</c>;
/// more ports are added to hub 0 over QMP (<c>netdev_add</c> with <c>"type": "hubport", "hubid": 0</c>).
/// </summary>
internal sealed class DefaultSetup : IDisposable
{
    private readonly bool _ownsDirectory;

    private DefaultSetup(string directory, bool ownsDirectory)
    {
        Directory = directory;
        _ownsDirectory = ownsDirectory;
    }

    public string Directory { get; }

    public string QmpPath => Path.Combine(Directory, "qmp.sock");

    public string VmSocketPath => Path.Combine(Directory, "vm0.sock");

    public static DefaultSetup Prepare(string? runtimeDirectory)
    {
        if (runtimeDirectory is not null)
        {
            const string Option = "--runtime-dir";
            if (runtimeDirectory.Length == 0 || runtimeDirectory.Contains('\0', StringComparison.Ordinal))
            {
                throw new Cli.CommandLineException($"{Option} '{runtimeDirectory}': not a directory name");
            }

            var full = Path.GetFullPath(runtimeDirectory);
            var setup = new DefaultSetup(full, ownsDirectory: false);
            setup.CheckSocketPaths($"{Option} {runtimeDirectory}");
            try
            {
                System.IO.Directory.CreateDirectory(full);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new Cli.CommandLineException($"{Option} {runtimeDirectory}: {e.Message}");
            }

            return setup;
        }

        var dir = RuntimeDirectory.Resolve(out var created);
        var defaults = new DefaultSetup(dir, created);
        try
        {
            defaults.CheckSocketPaths("XDG_RUNTIME_DIR");
        }
        catch
        {
            defaults.Dispose();
            throw;
        }

        return defaults;
    }

    /// <summary>Both sockets' paths must fit a sockaddr_un (a deep --runtime-dir or XDG_RUNTIME_DIR may not).</summary>
    private void CheckSocketPaths(string origin)
    {
        UnixSocketPathLimit.Check(origin, QmpPath);
        UnixSocketPathLimit.Check(origin, VmSocketPath);
    }

    /// <summary>Creates the stream server and the user network, joined on hub 0.</summary>
    public async Task StartAsync(NetdevRegistry registry, CancellationToken cancellationToken)
    {
        await StreamServer.AddAsync(registry, VmSocketPath, cancellationToken).ConfigureAwait(false);
        await UserNetwork.AddAsync(registry, new NetdevUserOptions(), StreamServer.NetdevId, StreamServer.HubPortId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the user needs to attach a VM and to manage the network.</summary>
    public string Instructions()
    {
        var sb = new StringBuilder();
        sb.Append("netdevd is running: a user-mode NAT network (10.0.2.0/24, gateway 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15)\n");
        sb.Append("on hub 0. Attach a VM to it with these QEMU options:\n\n");
        sb.Append("  -netdev stream,id=net0,server=off,addr.type=unix,addr.path=").Append(VmSocketPath)
          .Append(" -device virtio-net-pci,netdev=net0\n\n");
        sb.Append("QMP monitor: ").Append(QmpPath).Append(" (add ports with netdev_add, e.g. {\"type\": \"hubport\", \"id\": \"p1\", \"hubid\": 0, ...};\n");
        sb.Append("  forward host ports with hostfwd-add, e.g. {\"execute\": \"hostfwd-add\", \"arguments\": {\"netdev\": \"").Append(UserNetwork.NetdevId).Append("\", \"rule\": \"tcp::2222-:22\"}})\n");
        sb.Append("Stop with Ctrl-C.\n");
        return sb.ToString();
    }

    public void Dispose()
    {
        TryDelete(VmSocketPath);
        if (_ownsDirectory)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
