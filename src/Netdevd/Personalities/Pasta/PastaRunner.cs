using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Registry;
using Netdevd.Hosting;
using Netdevd.Personalities.Passt;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.Run;
using Netdevd.Startup;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// netdevd started as <c>pasta</c> for an existing namespace: the tap there (addressed with
/// --config-net), a <c>user</c> netdev on hub 0 with the -t/-u forwards, then the background
/// as pasta goes once ready (--pid written), until the namespace's process or path is gone or
/// SIGTERM.
/// </summary>
internal static class PastaRunner
{
    private const string TapId = "tap0";

    public static async Task<int> RunAsync(string[] args)
    {
        PastaOptions options;
        NetdevUserOptions user;
        Ipv4Setup? guest;
        Ipv6Setup? guest6;
        try
        {
            if (PastaCommandLine.Parse(args, out var output) is not { } parsed)
            {
                Console.Out.Write(output);
                return 0;
            }

            options = parsed;
            user = PastaAddressing.UserOptions(options, Socket.OSSupportsIPv6, out guest, out guest6);
        }
        catch (PersonalityUsageException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 1;
        }

        if (!options.Foreground && !Background.IsDaemon)
        {
            return Background.StartAndWait(PastaCommandLine.Program, args);
        }

        if (Background.IsDaemon && !Background.EnterDaemon(PastaCommandLine.Program, options.LogFile))
        {
            return 1;
        }

        var errors = Background.Errors;
        using var stop = new CancellationTokenSource();
        using var signals = new StopSignals(stop);
        var userns = options.UserNamespacePath
            ?? (!Environment.IsPrivilegedProcess && options.TargetPid is { } pid ? $"/proc/{pid}/ns/user" : null);
        var ipv4 = options.ConfigureNetwork ? guest : null;
        var ipv6 = options.ConfigureNetwork ? guest6 : null;
        var tapFd = NamespaceTap.Open(PastaCommandLine.Program, options.NetnsPath, userns, options.IfName, options.Mtu, ipv4, errors, ipv6);
        if (tapFd < 0)
        {
            return 1;
        }

        using var loggers = PersonalityLogging.Create(options.Quiet ? LogLevel.Warning : options.Debug ? LogLevel.Debug : LogLevel.Information);
        FrameThread.UseOne();
        await using var registry = new NetdevRegistry(BackendCatalog.Create(), new NullEventSink(), loggers);
        NamespaceThread? nsThread = null;
        NamespaceForwards? outbound = null;
        ProcNetTables? tables = null;
        AutoForwards? auto = null;
        LoopbackSplice? splice = null;
        try
        {
            GrantedDescriptors.Grant(tapFd);
            var tap = new Netdev { Id = TapId, Type = NetClientDriver.Tap, Tap = new NetdevTapOptions { Fd = tapFd.ToString(CultureInfo.InvariantCulture) } };
            await registry.AddAsync(tap, NetdevOrigin.CommandLineModern, cancellationToken: stop.Token).ConfigureAwait(false);
            await UserNetwork.AddAsync(registry, user, TapId, "hub0tap", stop.Token).ConfigureAwait(false);
            var client = registry.Find(UserNetwork.NetdevId)?.Client as Netdevd.UserNet.Host.UserNetClient;
            var spliced = client is not null && (options.Auto.Tcp || options.Forwards.Any(f => f.Protocol == "tcp"));
            var outward = options.NamespaceForwards.Count > 0 || options.Auto.Any;
            if (spliced || outward)
            {
                // One thread inside the namespace makes every socket and opens every table there.
                nsThread = NamespaceThread.Start(options.NetnsPath);
            }

            if (spliced && client is not null)
            {
                // As pasta: -t connections from the host's loopback go to the namespace's loopback.
                splice = LoopbackSplice.Open(nsThread!, loggers.CreateLogger(PastaCommandLine.Program));
                client.LoopbackSplice = splice;
            }

            if (outward)
            {
                outbound = NamespaceForwards.Open(nsThread!, options.NamespaceForwards, user.Ipv4 == true, user.Ipv6 == true);
            }

            if (options.Auto.Any && outbound is not null)
            {
                // The ports bound now are forwarded before the caller is told the namespace is ready.
                tables = ProcNetTables.Open(nsThread!);
                var forwardsOut = outbound;
                auto = new AutoForwards(tables, options.Auto, options.Forwards, options.NamespaceForwards,
                    host: protocol => client is null ? null : new HostPortBinder(client, protocol, user.Ipv4 == true, guest6?.Address),
                    inNamespace: protocol => new NamespacePortBinder(forwardsOut, protocol, user.Ipv4 == true, user.Ipv6 == true));
                auto.Scan();
                auto.Start(TimeSpan.FromSeconds(1));
            }

            if (options.PidFile is { } pidFile)
            {
                await File.WriteAllTextAsync(pidFile, string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}\n"), stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is QapiException or IOException or UnauthorizedAccessException)
        {
            await CloseAsync().ConfigureAwait(false);
            await errors.WriteLineAsync($"{PastaCommandLine.Program}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        Background.SignalReady();

        // pasta leaves with its namespace: the target process, or the namespace's path, gone.
        var watched = options.TargetPid is { } target ? $"/proc/{target}" : options.NetnsPath;
        try
        {
            while (Path.Exists(watched))
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }

        await CloseAsync().ConfigureAwait(false);
        if (options.PidFile is { } pidPath)
        {
            try
            {
                File.Delete(pidPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return 0;

        // Auto's forwards first (they use the user netdev and the namespace's thread), then -T/-U's and the splice, the thread last.
        async Task CloseAsync()
        {
            auto?.Dispose();
            tables?.Dispose();
            if (outbound is not null)
            {
                await outbound.DisposeAsync().ConfigureAwait(false);
            }

            splice?.Dispose();
            nsThread?.Dispose();
        }
    }
}
