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

namespace Netdevd.Run;

/// <summary>
/// <c>netdevd run</c>: starts the command in its namespace (through <see cref="NamespaceChild"/>),
/// takes the namespace's tap as netdev <see cref="RunOptions.TapId"/>, creates the other netdevs
/// (or, when none is given, a <c>user</c> network through <see cref="UserAttachment"/>), serves
/// them until the command ends, and exits with the command's status.
/// </summary>
internal static class RunRunner
{
    public static async Task<int> RunAsync(RunOptions options, CancellationToken cancellationToken)
    {
        IReadOnlyList<NetdevRequest> netdevs;
        try
        {
            netdevs = NetdevRequests.Parse(options.NetdevSpecs, static w => Console.Error.WriteLine($"netdevd: {w}"));
        }
        catch (NetdevHelpRequestedException)
        {
            Console.Out.Write(NetdevRequests.HelpText(BackendCatalog.Create()));
            return 0;
        }
        catch (CommandLineException e)
        {
            await Console.Error.WriteLineAsync(e.Describe()).ConfigureAwait(false);
            return 1;
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
            inner.AddRange(NamespaceChild.Arguments(theirs, options.IfName, options.Mtu, newNamespace, command));
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
            var tapFd = await Task.Run(() => ReceiveTap(channel), cancellationToken).ConfigureAwait(false);
            if (tapFd < 0)
            {
                // The inside half said why on stderr; its status is ours.
                await child.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                return child.ExitCode == 0 ? 1 : child.ExitCode;
            }

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
                    await UserAttachment.AddAsync(registry, cancellationToken).ConfigureAwait(false);
                }

                foreach (var request in netdevs)
                {
                    try
                    {
                        await registry.AddAsync(request.Netdev, request.Origin, cancellationToken: cancellationToken).ConfigureAwait(false);
                    }
                    catch (QapiException e)
                    {
                        await Console.Error.WriteLineAsync(new CommandLineException($"-netdev {request.Spec}: {e.Message}", e.Hint).Describe()).ConfigureAwait(false);
                        Kill(child);
                        return 1;
                    }
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

    /// <summary>The tap descriptor from the inside half, or -1 when it ended without sending one.</summary>
    private static int ReceiveTap(SafeFileHandle channel)
    {
        var fds = new List<SafeFileHandle>(1);
        Span<byte> one = stackalloc byte[1];
        nint n;
        do
        {
            n = UnixRights.Receive(channel, one, fds, 0);
        }
        while (n < 0 && Errno.Last == Errno.EINTR);

        if (n <= 0 || fds.Count == 0)
        {
            foreach (var fd in fds)
            {
                fd.Dispose();
            }

            return -1;
        }

        var tap = (int)fds[0].DangerousGetHandle();
        fds[0].SetHandleAsInvalid();
        for (var i = 1; i < fds.Count; i++)
        {
            fds[i].Dispose();
        }

        return tap;
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
