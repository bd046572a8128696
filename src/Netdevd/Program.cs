using Netdevd.Cli;
using Netdevd.Hosting;

// netdevd: parse our own options, then hand over to the runner, which speaks QEMU's syntax.
var root = DaemonCommandLine.Create(DaemonRunner.RunAsync);
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
