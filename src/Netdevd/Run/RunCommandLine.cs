using System.CommandLine;
using Netdevd.Cli;

namespace Netdevd.Run;

/// <summary>
/// <c>netdevd run [--netdev SPEC ...] [--netns PATH | --pid PID] [--ifname NAME] [--mtu N] -- CMD [ARGS]</c>.
/// </summary>
internal static class RunCommandLine
{
    public static Command Create(Func<RunOptions, CancellationToken, Task<int>> run)
    {
        var netdev = new Option<string[]>("--netdev", "-netdev")
        {
            Description = $"Another netdev, in QEMU's -netdev syntax; the namespace's tap is netdev '{RunOptions.TapId}' (e.g. hubport,id=p,hubid=0,netdev={RunOptions.TapId}). Repeatable. Without any, the tap joins a user-mode NAT network ('{Startup.UserNetwork.NetdevId}', DHCP from 10.0.2.15) on hub 0.",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
            HelpName = "SPEC",
        };
        var netns = new Option<string?>("--netns") { Description = "Join this network namespace (a path such as /run/netns/NAME) instead of making one.", HelpName = "PATH" };
        var pid = new Option<int?>("--pid") { Description = "Join the network namespace of this process instead of making one.", HelpName = "PID", CustomParser = BoundedInt.NullableParser("--pid", 1, int.MaxValue) };
        var ifname = new Option<string>("--ifname") { Description = "The tap's name in the namespace.", DefaultValueFactory = _ => "eth0", HelpName = "NAME" };
        var mtu = new Option<int>("--mtu") { Description = "The tap's MTU.", DefaultValueFactory = _ => RunOptions.DefaultMtu, HelpName = "N" };
        mtu.CustomParser = BoundedInt.Parser("--mtu", 68, 65535);
        var command = new Argument<string[]>("command")
        {
            Description = "The command to run in the namespace (after --); default: $SHELL.",
            Arity = ArgumentArity.ZeroOrMore,
        };

        var cmd = new Command("run", "Run a command in a network namespace whose tap is a netdev.")
        {
            netdev,
            netns,
            pid,
            ifname,
            mtu,
            command,
        };
        cmd.Validators.Add(result =>
        {
            if (result.GetValue(netns) is not null && result.GetValue(pid) is not null)
            {
                result.AddError("--netns and --pid are mutually exclusive");
            }
        });
        cmd.SetAction((result, ct) => run(
            new RunOptions(
                result.GetValue(netdev) ?? [],
                result.GetValue(netns),
                result.GetValue(pid),
                result.GetValue(ifname) ?? "eth0",
                result.GetValue(mtu),
                result.GetValue(command) ?? []),
            ct));
        return cmd;
    }
}
