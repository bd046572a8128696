using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.VhostUser;
using Netdevd.Core.Registry;
using Netdevd.Hosting;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;
using Netdevd.Startup;

namespace Netdevd.Personalities.Passt;

/// <summary>
/// netdevd started as <c>passt</c>: a stream server on the --socket path (the framing QEMU's
/// stream netdev speaks, which is what libvirt gives QEMU) joined on hub 0 to a <c>user</c>
/// netdev with the --tcp-ports/--udp-ports forwards; once it listens the daemon writes --pid,
/// moves its output to --log-file and lets the first process exit 0. With --vhost-user (libvirt's
/// <c>&lt;interface type='vhostuser'&gt;</c>) a <c>vhost-user-backend</c> netdev serves the
/// socket in the stream server's place. --one-off ends it when the VM disconnects; SIGTERM
/// (libvirt's destroy) at any time.
/// </summary>
internal static class PasstRunner
{
    public static async Task<int> RunAsync(string[] args)
    {
        PasstOptions options;
        try
        {
            if (PasstCommandLine.Parse(args, out var output) is not { } parsed)
            {
                Console.Out.Write(output);
                return 0;
            }

            options = parsed;
        }
        catch (PersonalityUsageException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 1;
        }

        if (!options.Foreground && !Background.IsDaemon)
        {
            return Background.StartAndWait(PasstCommandLine.Program, args);
        }

        // The daemon: logs to --log-file from here on, errors to the caller until ready.
        if (Background.IsDaemon && !Background.EnterDaemon(PasstCommandLine.Program, options.LogFile))
        {
            return 1;
        }

        var errors = Background.Errors;

        using var stop = new CancellationTokenSource();
        using var signals = new StopSignals(stop);
        using var loggers = PersonalityLogging.Create(options.Quiet ? LogLevel.Warning : options.Debug ? LogLevel.Debug : LogLevel.Information);
        var log = loggers.CreateLogger(PasstCommandLine.Program);
        string socketPath;
        try
        {
            socketPath = options.SocketPath ?? FreeDefaultSocket();
        }
        catch (PersonalityUsageException e)
        {
            await errors.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 1;
        }

        var oneOff = options.OneOff ? new OneOffWatch(StreamServer.NetdevId, stop) : null;
        FrameThread.UseOne();
        await using var registry = new NetdevRegistry(BackendCatalog.Create(), (IQapiEventSink?)oneOff ?? new NullEventSink(), loggers);
        try
        {
            RemoveStaleSocket(socketPath);
            if (options.VhostUser)
            {
                // The back-end listens once created; its bind errors are QapiExceptions (below).
                await VhostUserServer.AddAsync(registry, socketPath, stop.Token).ConfigureAwait(false);
                if (oneOff is not null && registry.Find(VhostUserServer.NetdevId)?.Client is VhostUserBackendClient backend)
                {
                    backend.FrontendGone += oneOff.OnFrontendGone;
                }
            }
            else
            {
                await StreamServer.AddAsync(registry, socketPath, stop.Token).ConfigureAwait(false);
                if (await StreamServer.WaitListeningAsync(registry, stop.Token).ConfigureAwait(false) is { } failure)
                {
                    await errors.WriteLineAsync($"{PasstCommandLine.Program}: --socket {socketPath}: {failure}").ConfigureAwait(false);
                    return 1;
                }
            }

            await UserNetwork.AddAsync(registry, UserOptions(options), StreamServer.NetdevId, StreamServer.HubPortId, stop.Token).ConfigureAwait(false);
            if (options.PidFile is { } pidFile)
            {
                await File.WriteAllTextAsync(pidFile, string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}\n"), stop.Token).ConfigureAwait(false);
            }
        }
        catch (QapiException e)
        {
            await errors.WriteLineAsync($"{PasstCommandLine.Program}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PersonalityUsageException)
        {
            await errors.WriteLineAsync($"{PasstCommandLine.Program}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        // passt's line, which users and scripts look for, on the caller's stderr.
        await errors.WriteLineAsync($"UNIX domain socket bound at {socketPath}").ConfigureAwait(false);
        Background.SignalReady();

        if (log.IsEnabled(LogLevel.Information))
        {
            log.LogInformation("serving {Socket} ({Mode}) with {Forwards} forwarded port(s)", socketPath, options.VhostUser ? "vhost-user" : "stream", options.Forwards.Count);
        }
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        TryDelete(socketPath);
        if (options.PidFile is { } pid)
        {
            TryDelete(pid);
        }

        return 0;
    }

    /// <summary>
    /// The user netdev: QEMU's defaults, or the network of --address/--netmask with the guest's
    /// lease at --address; IPv6 on the /64 of an IPv6 --address (QEMU's fec0::/64 without), its
    /// gateway as -g says, the address (or fec0::15) assigned by DHCPv6 as passt's own DHCPv6
    /// assigns -a; -4 or -6 turn a family off; each family's host mapping as passt's.
    /// </summary>
    internal static NetdevUserOptions UserOptions(PasstOptions options)
    {
        var useIpv4 = !options.Ipv6Only;
        var useIpv6 = !options.Ipv4Only;
        // As passt: a spec bound to an address of a family that is off cannot bind; passt exits.
        AddressedPortSpec.CheckFamilies(PasstCommandLine.Program, options.AddressedSpecs, useIpv4, useIpv6);
        var v6 = useIpv6
            ? Ipv6Addressing.Plan(PasstCommandLine.Program, "guest", options.Address6 ?? DefaultAddress6, options.Gateway6, null,
                options.MapHostLoopback6, options.MapGuestAddress6, options.NoMapGateway, configure: false)
            : null;

        // passt forwards to the guest's address of the client's family: the IPv6 one is the address
        // its DHCPv6 assigns (-a, else the default), which the user netdev's assigns too.
        var guest6 = v6?.Address;
        var hostfwd = new List<Netdevd.Qapi.Schema.String>(options.Forwards.Count);
        foreach (var f in options.Forwards)
        {
            var v6Host = f.HostAddress is { } h && InetPton.IsIpv6(h);
            if (useIpv4 && !v6Host)
            {
                hostfwd.Add(new Netdevd.Qapi.Schema.String { Str = f.ToHostfwd() });
            }

            if (guest6 is not null && (f.HostAddress is null || v6Host))
            {
                hostfwd.Add(new Netdevd.Qapi.Schema.String { Str = f.ToHostfwd(f.HostAddress ?? IPAddress.IPv6Any, guest6) });
            }
        }

        var search = new List<Netdevd.Qapi.Schema.String>(options.Search.Count);
        foreach (var s in options.Search)
        {
            search.Add(new Netdevd.Qapi.Schema.String { Str = s });
        }

        var user = new NetdevUserOptions
        {
            Hostname = options.Hostname,
            Hostfwd = hostfwd.Count > 0 ? hostfwd : null,
            Dnssearch = search.Count > 0 ? search : null,
            Ipv4 = useIpv4 ? null : false,
            Ipv6 = useIpv6 ? null : false,
            Ipv6Prefix = v6?.Prefix.ToString(),
            Ipv6Prefixlen = v6 is null ? null : 64,
            Ipv6Host = v6?.Host.ToString(),
            Ipv6Dns = v6?.Dns.ToString(),
            Ipv6HostLoopback = v6?.HostLoopback,
            Ipv6HostAlias = v6?.Alias?.ToString(),
            Ipv6DhcpAddress = v6?.Address.ToString(),
            Mtu = options.Mtu is { } mtu ? (uint)mtu : null,
        };
        if (!useIpv4)
        {
            return user;
        }

        IPAddress gateway;
        if (options.Address is not { } guest)
        {
            user.Host = options.Gateway?.ToString();
            gateway = options.Gateway ?? IPAddress.Parse("10.0.2.2");
        }
        else
        {
            var network = Ipv4Arguments.InNetwork(guest, options.PrefixLength, 0);
            gateway = options.Gateway ?? Distinct(network, guest, 2, 1);
            var dns = Distinct(network, guest, 3, 4, except: gateway);
            user.Net = string.Create(CultureInfo.InvariantCulture, $"{network}/{options.PrefixLength}");
            user.Host = gateway.ToString();
            user.Dns = dns.ToString();
            user.Dhcpstart = guest.ToString();
        }

        var (hostLoopback, alias, _) = HostMapping.Loopback(PasstCommandLine.Program, options.MapHostLoopback, options.MapGuestAddress, gateway, gateway, options.NoMapGateway);
        user.HostLoopback = hostLoopback;
        user.HostAlias = alias?.ToString();
        return user;
    }

    /// <summary>
    /// Without an IPv6 -a: QEMU's prefix (fec0::/64, gateway ::2, DNS ::3), and ::15 of it for the
    /// guest as QEMU's first IPv4 lease (passt copies the host's address, which netdevd's network
    /// does not use).
    /// </summary>
    private static readonly IPAddress DefaultAddress6 = IPAddress.Parse("fec0::15");

    /// <summary>network + the first of the offsets that is neither the guest nor <paramref name="except"/>.</summary>
    private static IPAddress Distinct(IPAddress network, IPAddress guest, uint first, uint second, IPAddress? except = null)
    {
        foreach (var offset in (ReadOnlySpan<uint>)[first, second, first + 3, second + 3])
        {
            var candidate = Ipv4Arguments.FromUInt32(Ipv4Arguments.ToUInt32(network) + offset);
            if (!candidate.Equals(guest) && !candidate.Equals(except))
            {
                return candidate;
            }
        }

        throw new PersonalityUsageException($"{PasstCommandLine.Program}: no room for the gateway and DNS addresses next to {guest}");
    }

    /// <summary>passt's default: the first of /tmp/passt_1.socket ... that nobody listens on.</summary>
    private static string FreeDefaultSocket()
    {
        for (var i = 1; i < 100; i++)
        {
            var path = string.Create(CultureInfo.InvariantCulture, $"/tmp/passt_{i}.socket");
            if (!File.Exists(path) || !IsListening(path))
            {
                return path;
            }
        }

        throw new PersonalityUsageException($"{PasstCommandLine.Program}: no free /tmp/passt_N.socket; give --socket");
    }

    /// <summary>A socket file left by a process that is gone is replaced; a live one is not touched (the bind then fails).</summary>
    private static void RemoveStaleSocket(string path)
    {
        if (File.Exists(path) && !IsListening(path))
        {
            TryDelete(path);
        }
    }

    private static bool IsListening(string path)
    {
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        try
        {
            probe.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
