using System.Text;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Hosting;

/// <summary>
/// What <c>netdevd</c> with no arguments builds: a QMP monitor and hub 0 with a stream server
/// on a unix socket that a VM attaches to with QEMU's own <c>-netdev stream</c>; more ports are
/// added to hub 0 over QMP (<c>netdev_add</c> with <c>"type": "hubport", "hubid": 0</c>).
/// </summary>
internal sealed class DefaultSetup : IDisposable
{
    private const string VmNetdevId = "vm0";
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
            System.IO.Directory.CreateDirectory(runtimeDirectory);
            return new DefaultSetup(Path.GetFullPath(runtimeDirectory), ownsDirectory: false);
        }

        var dir = RuntimeDirectory.Resolve(out var created);
        return new DefaultSetup(dir, created);
    }

    /// <summary>Creates the stream server and plugs it into hub 0.</summary>
    public async Task StartAsync(NetdevRegistry registry, CancellationToken cancellationToken)
    {
        var stream = new Netdev
        {
            Id = VmNetdevId,
            Type = NetClientDriver.Stream,
            Stream = new NetdevStreamOptions
            {
                Server = true,
                Addr = new SocketAddress { Type = SocketAddressType.Unix, Unix = new UnixSocketAddress { Path = VmSocketPath } },
            },
        };
        await registry.AddAsync(stream, NetdevOrigin.CommandLineModern, cancellationToken: cancellationToken).ConfigureAwait(false);
        var port = new Netdev
        {
            Id = "hub0port0",
            Type = NetClientDriver.Hubport,
            Hubport = new NetdevHubPortOptions { Hubid = 0, Netdev = VmNetdevId },
        };
        await registry.AddAsync(port, NetdevOrigin.CommandLineModern, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the user needs to attach a VM and to manage the network.</summary>
    public string Instructions()
    {
        var sb = new StringBuilder();
        sb.Append("netdevd is running. Attach a VM to hub 0 with these QEMU options:\n\n");
        sb.Append("  -netdev stream,id=net0,server=off,addr.type=unix,addr.path=").Append(VmSocketPath)
          .Append(" -device virtio-net-pci,netdev=net0\n\n");
        sb.Append("QMP monitor: ").Append(QmpPath).Append(" (add ports with netdev_add, e.g. {\"type\": \"hubport\", \"id\": \"p1\", \"hubid\": 0, ...})\n");
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
