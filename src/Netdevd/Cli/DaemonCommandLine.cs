using System.CommandLine;

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

    public static readonly Option<int> IoThreads = CreateIoThreads();

    private static Option<int> CreateIoThreads()
    {
        var option = new Option<int>("--io-threads")
        {
            Description = "Threads that move the netdevs' frames: 0 (the default) gives every netdev (every tap queue) a thread of its own, so busy netdevs use several cores; 1 runs them all on one thread, as QEMU's main loop does, so a frame and the answer it provokes cross without waking another thread (lighter and lower latency when the netdevs are not CPU-bound); N spreads the netdevs over N threads.",
            DefaultValueFactory = _ => 0,
            HelpName = "N",
        };
        option.CustomParser = BoundedInt.Parser("--io-threads", 0, MaxIoThreads);
        return option;
    }

    public static RootCommand Create(Func<DaemonOptions, CancellationToken, Task<int>> run)
    {
        var root = new RootCommand("netdevd: QEMU's network backends as a daemon. With no options: a QMP monitor and a virtual network, and the QEMU options that attach a VM to it.")
        {
            Netdev,
            Qmp,
            RuntimeDir,
            IoThreads,
        };
        root.Subcommands.Add(Run.RunCommandLine.Create(Run.RunRunner.RunAsync));
        root.SetAction((result, ct) => run(
            new DaemonOptions(
                result.GetValue(Netdev) ?? [],
                result.GetValue(Qmp) ?? [],
                result.GetValue(RuntimeDir),
                result.GetValue(IoThreads)),
            ct));
        return root;
    }
}
