using System.Globalization;
using System.Net;
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
        Ipv4Setup guest;
        try
        {
            if (PastaCommandLine.Parse(args, out var output) is not { } parsed)
            {
                Console.Out.Write(output);
                return 0;
            }

            options = parsed;
            user = UserOptions(options, out guest);
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
        var tapFd = NamespaceTap.Open(PastaCommandLine.Program, options.NetnsPath, userns, options.IfName, options.Mtu, ipv4, errors);
        if (tapFd < 0)
        {
            return 1;
        }

        using var loggers = PersonalityLogging.Create(options.Quiet ? LogLevel.Warning : options.Debug ? LogLevel.Debug : LogLevel.Information);
        await using var registry = new NetdevRegistry(BackendCatalog.Create(), new NullEventSink(), loggers);
        NamespaceForwards? outbound = null;
        LoopbackSplice? splice = null;
        try
        {
            GrantedDescriptors.Grant(tapFd);
            var tap = new Netdev { Id = TapId, Type = NetClientDriver.Tap, Tap = new NetdevTapOptions { Fd = tapFd.ToString(CultureInfo.InvariantCulture) } };
            await registry.AddAsync(tap, NetdevOrigin.CommandLineModern, cancellationToken: stop.Token).ConfigureAwait(false);
            await UserNetwork.AddAsync(registry, user, TapId, "hub0tap", stop.Token).ConfigureAwait(false);
            if (options.Forwards.Any(f => f.Protocol == "tcp") && registry.Find(UserNetwork.NetdevId)?.Client is Netdevd.UserNet.Host.UserNetClient client)
            {
                // As pasta: -t connections from the host's loopback go to the namespace's loopback.
                splice = LoopbackSplice.Open(options.NetnsPath);
                client.LoopbackSplice = splice;
            }

            if (options.NamespaceForwards.Count > 0)
            {
                outbound = NamespaceForwards.Open(options.NetnsPath, options.NamespaceForwards);
            }

            if (options.PidFile is { } pidFile)
            {
                await File.WriteAllTextAsync(pidFile, string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}\n"), stop.Token).ConfigureAwait(false);
            }
        }
        catch (QapiException e)
        {
            splice?.Dispose();
            await errors.WriteLineAsync($"{PastaCommandLine.Program}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            splice?.Dispose();
            await errors.WriteLineAsync($"{PastaCommandLine.Program}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        await using var outboundForwards = outbound;
        using var loopbackSplice = splice;
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
    }

    /// <summary>
    /// The user netdev for pasta's addressing: the network of --address/--netmask (10.0.2.15/24
    /// by default), the gateway and DNS inside it; <paramref name="guest"/> is what --config-net sets.
    /// </summary>
    internal static NetdevUserOptions UserOptions(PastaOptions options, out Ipv4Setup guest)
    {
        var address = options.Address ?? IPAddress.Parse("10.0.2.15");
        var network = Ipv4Arguments.InNetwork(address, options.PrefixLength, 0);
        var gateway = options.Gateway ?? Ipv4Arguments.InNetwork(address, options.PrefixLength, 2);
        var dns = options.DnsForward ?? Ipv4Arguments.InNetwork(address, options.PrefixLength, 3);
        if (!Ipv4Arguments.InNetwork(gateway, options.PrefixLength, 0).Equals(network) || gateway.Equals(address))
        {
            throw new PersonalityUsageException(
                $"{PastaCommandLine.Program}: --gateway {gateway} is outside the namespace's network {network}/{options.PrefixLength} (or is its address): netdevd's user network serves the gateway inside it");
        }

        // The DNS address may lie outside the network (podman's 169.254.1.1): the namespace
        // reaches it through the gateway like any other address.
        if (dns.Equals(address) || dns.Equals(gateway))
        {
            throw new PersonalityUsageException($"{PastaCommandLine.Program}: --dns-forward {dns} is the namespace's address or the gateway");
        }

        if (options.MapGuestAddress is { } mapped
            && (Ipv4Arguments.InNetwork(mapped, options.PrefixLength, 0).Equals(network) || mapped.Equals(dns)))
        {
            throw new PersonalityUsageException(
                $"{PastaCommandLine.Program}: --map-guest-addr {mapped} must lie outside the namespace's network {network}/{options.PrefixLength} and differ from --dns-forward");
        }

        guest = new Ipv4Setup(address, options.PrefixLength, gateway, null);
        var hostfwd = new List<Netdevd.Qapi.Schema.String>();
        foreach (var f in options.Forwards)
        {
            hostfwd.Add(new Netdevd.Qapi.Schema.String { Str = f.ToHostfwd() });
        }

        return new NetdevUserOptions
        {
            Net = string.Create(CultureInfo.InvariantCulture, $"{network}/{options.PrefixLength}"),
            Host = gateway.ToString(),
            Dns = dns.ToString(),
            Dhcpstart = address.ToString(),
            Hostfwd = hostfwd.Count > 0 ? hostfwd : null,
            Ipv4 = true,
            Ipv6 = options.Ipv4Only ? false : null,
            HostLoopback = !options.NoMapGateway,
            HostAlias = options.MapGuestAddress?.ToString(),
            Mtu = (uint)options.Mtu,
        };
    }
}
