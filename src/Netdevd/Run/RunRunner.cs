using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using Netdevd.Cli;
using Netdevd.Core.Registry;
using Netdevd.Hosting;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;
using Netdevd.Qapi.Schema;
using Netdevd.Qmp.Events;
using Netdevd.Startup;

namespace Netdevd.Run;

/// <summary>
/// <c>netdevd run</c>: starts the command in its namespace (through <see cref="NamespaceChild"/>),
/// takes the namespace's tap as netdev <see cref="RunOptions.TapId"/>, creates the other netdevs
/// (or, when none is given, a <c>user</c> network through <see cref="UserNetwork"/>), serves
/// them until the command ends, and exits with the command's status.
/// </summary>
internal static class RunRunner
{
    public static async Task<int> RunAsync(RunOptions options, CancellationToken cancellationToken)
    {
        if (NetdevStartup.Parse(options.NetdevSpecs, out var parseExit) is not { } netdevs)
        {
            return parseExit;
        }

        var command = options.Command.Count > 0 ? options.Command : [Environment.GetEnvironmentVariable("SHELL") ?? "/bin/sh"];
        if (!Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, out var ours, out var theirs))
        {
            await Console.Error.WriteLineAsync($"netdevd run: socketpair: {Errno.Message(Errno.Last)}").ConfigureAwait(false);
            return 1;
        }

        using var channel = new SafeFileHandle(ours, ownsHandle: true);
        Process child;
        try
        {
            _ = Libc.SetCloseOnExec(theirs, false);
            var newNamespace = options.NetnsPath is null && options.Pid is null;
            var inner = new List<string>(SelfCommand.Get());
            inner.AddRange(NamespaceChild.Arguments(theirs, options.IfName, options.Mtu, newNamespace, ipv4: null, ipv6: null, command));
            child = Process.Start(NamespaceLauncher.Create(options, inner)) ?? throw new Win32Exception();
        }
        catch (Win32Exception e)
        {
            await Console.Error.WriteLineAsync($"netdevd run: could not start the namespace helper: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            _ = Libc.Close(theirs);
        }

        using (child)
        {
            var tapFd = await Task.Run(() => TapHandoff.Receive(channel), cancellationToken).ConfigureAwait(false);
            if (tapFd < 0)
            {
                // The inside half said why on stderr; its status is ours.
                await child.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                return child.ExitCode == 0 ? 1 : child.ExitCode;
            }

            // One namespace served, as pasta serves it: its frames move on one thread.
            Personalities.FrameThread.UseOne();
            await using var registry = new NetdevRegistry(BackendCatalog.Create(), new QmpEventBroadcaster(), NullLoggerFactory.Instance);
            try
            {
                // Received from the inside half: ours to hand to the tap netdev by number.
                Netdevd.Backends.Sockets.GrantedDescriptors.Grant(tapFd);
                var tap = new Netdev
                {
                    Id = RunOptions.TapId,
                    Type = NetClientDriver.Tap,
                    Tap = new NetdevTapOptions { Fd = tapFd.ToString(CultureInfo.InvariantCulture) },
                };
                await registry.AddAsync(tap, NetdevOrigin.CommandLineModern, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (netdevs.Count == 0)
                {
                    // Nothing asked for: the namespace gets a NAT network, as the default main job gives a VM.
                    await UserNetwork.AddAsync(registry, new NetdevUserOptions(), RunOptions.TapId, "hub0run", cancellationToken).ConfigureAwait(false);
                }

                if (!await NetdevStartup.CreateAsync(registry, netdevs, cancellationToken).ConfigureAwait(false))
                {
                    Kill(child);
                    return 1;
                }
            }
            catch (QapiException e)
            {
                await Console.Error.WriteLineAsync($"netdevd run: {e.Message}").ConfigureAwait(false);
                Kill(child);
                return 1;
            }

            // Ctrl-C reaches the command too (same process group); we wait for it either way.
            await child.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            return child.ExitCode;
        }
    }

    private static void Kill(Process child)
    {
        try
        {
            child.Kill();
            child.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
