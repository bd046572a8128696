using System.CommandLine;
using Netdevd.Qmp.Server;

namespace Netdevd.Cli;

/// <summary>netdevd's own options (System.CommandLine); the netdev specs themselves are QEMU syntax, parsed later.</summary>
internal static class DaemonCommandLine
{
    /// <summary>More threads than this would only add switching: netdevs are few per thread at that point.</summary>
    public const int MaxIoThreads = 256;

    public static readonly Option<string[]> Netdev = new("--netdev", "-netdev")
    {
        Description = "Create a netdev, in QEMU's -netdev syntax (type,id=ID,... or keyval or JSON); repeatable. 'help' lists the types.",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
        HelpName = "SPEC",
    };

    public static readonly Option<string[]> Chardev = new("--chardev", "-chardev")
    {
        Description = "Create a chardev, in QEMU's -chardev syntax (socket,id=ID,path=PATH[,server=on,wait=off][,reconnect-ms=N]); repeatable. vhost-user netdevs connect through them.",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
        HelpName = "SPEC",
    };

    public static readonly Option<string[]> Qmp = new("--qmp", "-qmp")
    {
        Description = "Serve QMP on unix:PATH,server=on,wait=off or tcp:HOST:PORT,server=on,wait=off; repeatable.",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
        HelpName = "CHARDEV",
    };

    public static readonly Option<string?> RuntimeDir = new("--runtime-dir")
    {
        Description = "Directory for the default setup's sockets (default: $XDG_RUNTIME_DIR/netdevd, else a private temp directory).",
        HelpName = "DIR",
    };

    public static readonly Option<int?> IoThreads = CreateIoThreads();

    public static readonly Option<int> QmpMaxClients = CreateQmpMaxClients();

    private static Option<int> CreateQmpMaxClients()
    {
        var option = new Option<int>("--qmp-max-clients")
        {
            Description = "QMP clients served at once, over all --qmp sockets; one more reads end of stream instead of a greeting until a client leaves.",
            DefaultValueFactory = _ => QmpServerOptions.DefaultMaxClients,
            HelpName = "N",
        };
        option.Validators.Add(static result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--qmp-max-clients must be at least 1.");
            }
        });
        return option;
    }

    private static Option<int?> CreateIoThreads()
    {
        var option = new Option<int?>("--io-threads")
        {
            Description = "Threads that move the netdevs' frames: 0 (the default with --netdev, --qmp or --chardev) gives every netdev (every tap queue) a thread of its own, so busy netdevs use several cores; 1 runs them all on one thread, as QEMU's main loop does, so a frame and the answer it provokes cross without waking another thread (lighter and lower latency when the netdevs are not CPU-bound); N spreads the netdevs over N threads. With no options the default job runs on 1, as passt.",
            HelpName = "N",
        };
        option.CustomParser = BoundedInt.NullableParser("--io-threads", 0, MaxIoThreads);
        return option;
    }

    /// <summary>Below this a user netdev could not hold one full-speed TCP flow.</summary>
    public const long MinUserMemoryLimit = 1L << 20;

    public static readonly Option<long> UserMemoryLimit = new("--user-memory-limit")
    {
        Description = "Bytes each user netdev may hold for its guest (TCP flow buffers, IPv4 reassembly, frames queued for the guest), in QEMU's size syntax (64M, 1G); when reached, new flows get small windows, then are refused. Default: 128M.",
        DefaultValueFactory = _ => Netdevd.UserNet.Nat.NatLimits.DefaultMemoryLimit,
        CustomParser = ParseUserMemoryLimit,
        HelpName = "SIZE",
    };

    private static long ParseUserMemoryLimit(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
        if (!Netdevd.Qapi.Parsing.QemuSize.TryParse(text, out var size) || size > long.MaxValue)
        {
            result.AddError($"--user-memory-limit: '{text}' is not a size (e.g. 64M, 1G).");
            return 0;
        }

        if ((long)size < MinUserMemoryLimit)
        {
            result.AddError("--user-memory-limit must be at least 1M.");
            return 0;
        }

        return (long)size;
    }

    public static RootCommand Create(Func<DaemonOptions, CancellationToken, Task<int>> run)
    {
        var root = new RootCommand("netdevd: QEMU's network backends as a daemon. With no options: a QMP monitor and a virtual network, and the QEMU options that attach a VM to it.")
        {
            Netdev,
            Chardev,
            Qmp,
            RuntimeDir,
            IoThreads,
            UserMemoryLimit,
            QmpMaxClients,
        };
        root.Subcommands.Add(Run.RunCommandLine.Create(Run.RunRunner.RunAsync));
        root.SetAction((result, ct) => run(
            new DaemonOptions(
                result.GetValue(Netdev) ?? [],
                result.GetValue(Qmp) ?? [],
                result.GetValue(RuntimeDir),
                result.GetValue(IoThreads),
                result.GetValue(UserMemoryLimit),
                result.GetValue(QmpMaxClients),
                result.GetValue(Chardev) ?? []),
            ct));
        return root;
    }
}
