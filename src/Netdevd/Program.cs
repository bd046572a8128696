using Netdevd.Cli;
using Netdevd.Hosting;

// `netdevd run`'s inside half (re-executed in the namespace) is not a user command: it must not
// build the host or parse options, only open the tap and exec the user's command.
if (args.Length > 0 && args[0] == Netdevd.Run.NamespaceChild.Verb)
{
    return Netdevd.Run.NamespaceChild.Run(args);
}

// netdevd: parse our own options, then hand over to the runner, which speaks QEMU's syntax.
var root = DaemonCommandLine.Create(DaemonRunner.RunAsync);
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
