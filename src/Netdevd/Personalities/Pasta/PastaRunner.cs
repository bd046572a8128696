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

    /// <summary>
    /// The IPv6 network: pasta copies the host's addresses, netdevd's user network has its own
    /// prefix. A unique local one as slirp4netns's (fd00::/64, gateway ::2, DNS ::3) rather than
    /// QEMU's fec0::, which the kernel scopes as site-local: a ULA is a global-scope address.
    /// </summary>
    private const string Prefix6 = "fd00::";

    /// <summary>
    /// The namespace's IPv6 address with --config-net: interface identifier ::15 (as 10.0.2.15).
    /// Fixed, so that -t forwards for IPv6 clients know where to go.
    /// </summary>
    internal static readonly IPAddress GuestAddress6 = IPAddress.Parse("fd00::15");

    /// <summary>The router's link-local address (fe80:: with the virtual host's identifier ::2): the default route's gateway.</summary>
    internal static readonly IPAddress RouterLinkLocal = IPAddress.Parse("fe80::2");

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
            user = UserOptions(options, Socket.OSSupportsIPv6, out guest, out guest6);
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
                splice = LoopbackSplice.Open(options.NetnsPath, loggers.CreateLogger(PastaCommandLine.Program));
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
    /// by default), the gateway and DNS inside it, and, unless -4 or a kernel without IPv6
    /// (<paramref name="hostHasIpv6"/>; pasta too leaves IPv6 off then), the IPv6 network fd00::/64
    /// with the gateway fd00::2 (to the host's ::1) and DNS fd00::3; -6 leaves IPv4 off.
    /// <paramref name="guest"/> and <paramref name="guest6"/> are what --config-net sets.
    /// </summary>
    internal static NetdevUserOptions UserOptions(PastaOptions options, bool hostHasIpv6, out Ipv4Setup? guest, out Ipv6Setup? guest6)
    {
        var useIpv4 = !options.Ipv6Only;
        var useIpv6 = !options.Ipv4Only && hostHasIpv6;
        if (!useIpv4 && !useIpv6)
        {
            throw new PersonalityUsageException($"{PastaCommandLine.Program}: --ipv6-only, but this kernel has no IPv6");
        }

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

        if (options.DnsForward6 is { } dns6 && (dns6.Equals(GuestAddress6) || dns6.Equals(IPAddress.Parse(Prefix6 + "2"))))
        {
            throw new PersonalityUsageException($"{PastaCommandLine.Program}: --dns-forward {dns6} is the namespace's address or the gateway");
        }

        guest = useIpv4 ? new Ipv4Setup(address, options.PrefixLength, gateway, null) : null;
        guest6 = useIpv6 ? new Ipv6Setup(GuestAddress6, 64, RouterLinkLocal) : null;
        var hostfwd = new List<Netdevd.Qapi.Schema.String>();
        foreach (var f in options.Forwards)
        {
            // As pasta: a port without an address is bound for both families; IPv6 clients reach
            // the namespace's IPv6 address, IPv4 clients its IPv4 address.
            var v6Host = f.HostAddress?.AddressFamily == AddressFamily.InterNetworkV6;
            if (useIpv4 && (f.HostAddress is null || !v6Host || !useIpv6))
            {
                hostfwd.Add(new Netdevd.Qapi.Schema.String { Str = f.ToHostfwd() });
            }

            if (useIpv6 && (f.HostAddress is null || v6Host))
            {
                hostfwd.Add(new Netdevd.Qapi.Schema.String { Str = f.ToHostfwd(f.HostAddress ?? IPAddress.IPv6Any, GuestAddress6) });
            }
        }

        // ipv4=on or ipv6=on alone would mean the other family off (QEMU's rule): both said.
        return new NetdevUserOptions
        {
            Net = useIpv4 ? string.Create(CultureInfo.InvariantCulture, $"{network}/{options.PrefixLength}") : null,
            Host = useIpv4 ? gateway.ToString() : null,
            Dns = useIpv4 ? dns.ToString() : null,
            Dhcpstart = useIpv4 ? address.ToString() : null,
            Hostfwd = hostfwd.Count > 0 ? hostfwd : null,
            Ipv4 = useIpv4,
            Ipv6 = useIpv6,
            Ipv6Prefix = useIpv6 ? Prefix6 : null,
            Ipv6Prefixlen = useIpv6 ? 64 : null,
            Ipv6Host = useIpv6 ? Prefix6 + "2" : null,
            Ipv6Dns = useIpv6 ? options.DnsForward6?.ToString() ?? Prefix6 + "3" : null,
            HostLoopback = !options.NoMapGateway,
            HostAlias = useIpv4 ? options.MapGuestAddress?.ToString() : null,
            Mtu = (uint)options.Mtu,
        };
    }
}
