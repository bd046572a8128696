using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.Io;
using Netdevd.Cli;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;
using Netdevd.Qmp.Commands;
using Netdevd.Qmp.Endpoints;
using Netdevd.Qmp.Events;
using Netdevd.Qmp.Server;
using Netdevd.Startup;

namespace Netdevd.Hosting;

/// <summary>
/// Runs the daemon: validates every option before touching the system, starts the monitors,
/// creates the netdevs in QEMU's order, then serves until Ctrl-C, SIGTERM or QMP <c>quit</c>.
/// </summary>
internal static class DaemonRunner
{
    public static async Task<int> RunAsync(DaemonOptions options, CancellationToken cancellationToken)
    {
        // Parse everything first: a bad option must leave nothing behind.
        IReadOnlyList<ChardevRequest> chardevs;
        List<QmpEndpointSpec> monitors = [];
        try
        {
            var chardevKinds = new Netdevd.Backends.Chardevs.SocketChardevFactory();
            chardevs = ChardevRequests.Parse(options.ChardevSpecs ?? [], chardevKinds.Provides, static w => Console.Error.WriteLine($"netdevd: {w}"));
        }
        catch (CommandLineException e)
        {
            await Console.Error.WriteLineAsync(e.Describe()).ConfigureAwait(false);
            return 1;
        }

        if (NetdevStartup.Parse(options.NetdevSpecs, out var parseExit) is not { } netdevs)
        {
            return parseExit;
        }

        try
        {
            foreach (var spec in options.QmpSpecs)
            {
                monitors.Add(ParseMonitor(spec));
            }
        }
        catch (CommandLineException e)
        {
            await Console.Error.WriteLineAsync(e.Describe()).ConfigureAwait(false);
            return 1;
        }

        // Before any netdev exists: every backend created from here on is placed by it.
        IoThreadPool.Configure(options.FrameThreads);

        // No defaults: the default builder reads appsettings.json, environment and command line
        // from the working directory and watches it recursively for changes (started from '/',
        // that is tens of thousands of inotify watches and seconds before QMP answers). netdevd
        // is configured only by its command line; the host gives it logging and Ctrl-C/SIGTERM.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        // Logs go to stderr: stdout carries only what the user asked for (the attach options, help).
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        using var host = builder.Build();
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        var log = loggers.CreateLogger("netdevd");
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);

        var events = new QmpEventBroadcaster();
        await using var registry = new NetdevRegistry(BackendCatalog.Create(options.UserMemoryLimit), events, loggers, chardevs: new Netdevd.Backends.Chardevs.SocketChardevFactory());
        using var handlers = new QmpCommandHandlers(registry);
        await using var qmp = new QmpServer(handlers.Commands, events, new QmpServerOptions { MaxClients = options.QmpMaxClients, GreetAfterStartup = true }, loggers);
        DefaultSetup? defaults = null;
        try
        {
            if (options.IsDefaultJob)
            {
                defaults = DefaultSetup.Prepare(options.RuntimeDirectory);
                monitors.Add(QmpEndpointSpec.Unix(defaults.QmpPath));
            }

            await qmp.StartAsync(monitors, cancellationToken).ConfigureAwait(false);


            // As QEMU: the chardevs exist before any netdev, which may connect through them.
            foreach (var request in chardevs)
            {
                try
                {
                    await registry.Chardevs.AddFromCommandLineAsync(request.Id, request.Backend, cancellationToken).ConfigureAwait(false);
                }
                catch (QapiException e)
                {
                    await Console.Error.WriteLineAsync(new CommandLineException($"-chardev {request.Spec}: {e.Message}", e.Hint).Describe()).ConfigureAwait(false);
                    return 1;
                }
            }

            if (!await NetdevStartup.CreateAsync(registry, netdevs, cancellationToken).ConfigureAwait(false))
            {
                return 1;
            }

            if (defaults is not null)
            {
                await defaults.StartAsync(registry, cancellationToken).ConfigureAwait(false);
                Console.Out.Write(defaults.Instructions());
                await Console.Out.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            qmp.StartServing();
            if (Netdevd.Native.FramePathHugePage.Refused && log.IsEnabled(LogLevel.Information))
            {
                log.LogInformation("the frame path's code stays on small pages (1-2 µs more per frame after idling): {Why}", Netdevd.Native.FramePathHugePage.Outcome);
            }

            if (log.IsEnabled(LogLevel.Information))
            {
                var qmpText = monitors.Count == 0 ? "no QMP monitor" : "QMP on " + string.Join(", ", monitors);
                log.LogInformation("{Package} ready: {Netdevs} netdev(s), {Qmp}", QmpVersion.Package, registry.Snapshot().Count, qmpText);
            }
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping, handlers.QuitRequested, cancellationToken);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            log.LogInformation("netdevd stopping");
            return 0;
        }
        catch (CommandLineException e)
        {
            await Console.Error.WriteLineAsync(e.Describe()).ConfigureAwait(false);
            return 1;
        }
        catch (QapiException e)
        {
            await Console.Error.WriteLineAsync($"netdevd: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"netdevd: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            defaults?.Dispose();
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static QmpEndpointSpec ParseMonitor(string spec)
    {
        try
        {
            var endpoint = QmpEndpointSpec.Parse(spec);
            if (endpoint.Kind == QmpEndpointKind.Unix)
            {
                UnixSocketPathLimit.Check($"-qmp {spec}", endpoint.Path);
            }

            return endpoint;
        }
        catch (QmpEndpointSpecException e)
        {
            throw new CommandLineException($"-qmp {spec}: {e.Message}");
        }
    }
}
