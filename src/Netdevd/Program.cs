using Netdevd.Cli;
using Netdevd.Hosting;

// `netdevd run`'s inside half (re-executed in the namespace) is not a user command: it must not
// build the host or parse options, only open the tap and exec the user's command.
if (args.Length > 0 && args[0] == Netdevd.Run.NamespaceChild.Verb)
{
    return Netdevd.Run.NamespaceChild.Run(args);
}

// A socket per flow, per connection, per netdev: the soft descriptor limit (often 1024) raised to
// the hard one, as the .NET runtime does for JIT processes and a NativeAOT binary does not. After
// `run`'s inside half above, so the user's command gets the limit it was given.
Netdevd.Native.Libc.RaiseOpenFileLimit();

// The frame path's code onto one huge page (a page walk per wake-up instead of one per 4 KiB):
// early, while the runtime's own threads are idle and no netdev's thread runs that code yet. It
// opens and closes its files before GrantInherited below looks at what was inherited. The daemon
// logs why when the host refuses it.
Netdevd.Native.FramePathHugePage.TryApply();

// Ctrl-C stops netdevd and its personalities cleanly whoever started them, as it stops QEMU:
// started from a script's background job, SIGINT arrives ignored, and the runtime would then
// not install the handler the host and the personalities register.
Netdevd.Native.Libc.StopIgnoring(Netdevd.Native.Libc.SIGINT);

// Started as passt, pasta or slirp4netns (a symlink's name, or `netdevd slirp4netns ...`): that program's command line.
if (Netdevd.Personalities.PersonalityName.Detect(args, out var personalityArgs) is { } personality)
{
    Netdevd.Backends.Sockets.GrantedDescriptors.GrantInherited();
    return personality switch
    {
        Netdevd.Personalities.PersonalityName.Slirp4netns => await Netdevd.Personalities.Slirp4netns.Slirp4netnsRunner.RunAsync(personalityArgs).ConfigureAwait(false),
        Netdevd.Personalities.PersonalityName.Passt => await Netdevd.Personalities.Passt.PasstRunner.RunAsync(personalityArgs).ConfigureAwait(false),
        Netdevd.Personalities.PersonalityName.Pasta => await Netdevd.Personalities.Pasta.PastaRunner.RunAsync(personalityArgs).ConfigureAwait(false),
        _ => 1,
    };
}

// First, before the runtime opens descriptors of its own: what the parent left open for us is
// what a numeric fd= may name (Netdevd.Backends.Sockets.GrantedDescriptors).
Netdevd.Backends.Sockets.GrantedDescriptors.GrantInherited();

// netdevd: parse our own options, then hand over to the runner, which speaks QEMU's syntax.
var root = DaemonCommandLine.Create(DaemonRunner.RunAsync);
var parsed = CommandLineErrors.Parse(root, args);
if (CommandLineErrors.Report(parsed, Console.Error))
{
    return 1;
}

try
{
    return await parsed.InvokeAsync(new System.CommandLine.InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
}
#pragma warning disable CA1031 // The last resort: whatever a bug lets through, the user sees one line, not a stack trace.
catch (Exception e)
#pragma warning restore CA1031
{
    await Console.Error.WriteLineAsync($"netdevd: internal error: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
    return 1;
}
