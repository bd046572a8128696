using System.CommandLine;

namespace Netdevd.Cli;

/// <summary>netdevd's own options (System.CommandLine); the netdev specs themselves are QEMU syntax, parsed later.</summary>
internal static class DaemonCommandLine
{
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

    public static RootCommand Create(Func<DaemonOptions, CancellationToken, Task<int>> run)
    {
        var root = new RootCommand("netdevd: QEMU's network backends as a daemon. With no options: a QMP monitor and a virtual network, and the QEMU options that attach a VM to it.")
        {
            Netdev,
            Qmp,
            RuntimeDir,
        };
        root.Subcommands.Add(Run.RunCommandLine.Create(Run.RunRunner.RunAsync));
        root.SetAction((result, ct) => run(
            new DaemonOptions(
                result.GetValue(Netdev) ?? [],
                result.GetValue(Qmp) ?? [],
                result.GetValue(RuntimeDir)),
            ct));
        return root;
    }
}
