using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Registry;
using Netdevd.Hosting;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;
using Netdevd.Qapi.Schema;
using Netdevd.Run;
using Netdevd.Startup;
using Netdevd.Core.UserNetworks;

namespace Netdevd.Personalities.Slirp4netns;

/// <summary>
/// netdevd started as <c>slirp4netns</c>: opens (or, for rootlesskit, attaches to) the tap in the
/// target's network namespace, serves it with a <c>user</c> netdev on hub 0, answers the API
/// socket, writes "1" to the ready descriptor and runs in the foreground until the exit
/// descriptor becomes readable or closes, or SIGTERM. The process is the one the caller started
/// (rootlesskit kills it by PID): the namespace work happens in a short-lived inside half.
/// </summary>
internal static class Slirp4netnsRunner
{
    private const string TapId = "tap0";

    public static async Task<int> RunAsync(string[] args)
    {
        Slirp4netnsOptions options;
        try
        {
            if (Slirp4netnsCommandLine.Parse(args, out var output) is not { } parsed)
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

        using var stop = new CancellationTokenSource();
        using var signals = new StopSignals(stop);
        int tapFd, apiFd = -1;
        try
        {
            if (Slirp4netnsSandbox.ToBuild() is { } build)
            {
                // Root of the target's user namespace now (see EnterSandboxAsync): build the sandbox.
                var failed = Slirp4netnsSandbox.Enter(args, build.TapFd, build.ApiFd);
                await Console.Error.WriteLineAsync($"{Slirp4netnsCommandLine.Program}: {failed}").ConfigureAwait(false);
                return 1;
            }

            (tapFd, apiFd) = Slirp4netnsSandbox.Handed() ?? (-1, -1);
        }
        catch (PersonalityUsageException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 1;
        }

        if (tapFd < 0)
        {
            // Not root: the namespace belongs to the target's user namespace, which gives us the
            // right to configure it (rootlesskit's case). Root needs nothing more.
            var userns = options.UserNamespacePath
                ?? (!Environment.IsPrivilegedProcess && options.TargetPid is { } pid ? $"/proc/{pid}/ns/user" : null);
            var ipv4 = options.Configure
                ? new Ipv4Setup(options.GuestAddress, options.PrefixLength, options.HostAddress, options.MacAddress)
                : null;
            tapFd = NamespaceTap.Open(Slirp4netnsCommandLine.Program, options.NetnsPath, userns, options.TapName, options.Mtu, ipv4, Console.Error);
            if (tapFd < 0)
            {
                return 1;
            }

            if (options.EnableSandbox)
            {
                // Everything that needs the host's view is open: serve from the sandbox (no return on success).
                return await EnterSandboxAsync(args, options, tapFd).ConfigureAwait(false);
            }
        }

        using var loggers = PersonalityLogging.Create(LogLevel.Warning);
        FrameThread.UseOne();
        await using var registry = new NetdevRegistry(BackendCatalog.Create(), new NullEventSink(), loggers);
        Slirp4netnsApiSocket? api = null;
        try
        {
            GrantedDescriptors.Grant(tapFd);
            var tap = new Netdev { Id = TapId, Type = NetClientDriver.Tap, Tap = new NetdevTapOptions { Fd = tapFd.ToString(CultureInfo.InvariantCulture) } };
            await registry.AddAsync(tap, NetdevOrigin.CommandLineModern, cancellationToken: stop.Token).ConfigureAwait(false);
            await UserNetwork.AddAsync(registry, UserOptions(options), TapId, "hub0tap", stop.Token).ConfigureAwait(false);
            if (options.ApiSocket is { } path)
            {
                var forwards = registry.Find(UserNetwork.NetdevId)?.Client as IUserNetwork
                    ?? throw new InvalidOperationException("the user netdev has no forwarding API");
                var handler = new Slirp4netnsApi(forwards, options.GuestAddress);
                api = apiFd >= 0 ? Slirp4netnsApiSocket.Adopt(apiFd, handler) : Slirp4netnsApiSocket.Listen(path, handler);
            }
        }
        catch (QapiException e)
        {
            await Console.Error.WriteLineAsync($"{Slirp4netnsCommandLine.Program}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"{Slirp4netnsCommandLine.Program}: --api-socket {options.ApiSocket}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        await using (api)
        {
            if (options.EnableSeccomp && SeccompPolicy.Install() is { } refused)
            {
                await Console.Error.WriteLineAsync($"{Slirp4netnsCommandLine.Program}: {refused}").ConfigureAwait(false);
                return 1;
            }

            if (options.ReadyFd is { } ready && !SignalReady(ready))
            {
                await Console.Error.WriteLineAsync($"{Slirp4netnsCommandLine.Program}: --ready-fd {ready}: {Errno.Message(Errno.Last)}").ConfigureAwait(false);
                return 1;
            }

            Thread? watcher = null;
            if (options.ExitFd is { } exit)
            {
                watcher = new Thread(() => WaitForExitFd(exit, stop)) { IsBackground = true, Name = "slirp4netns exit-fd" };
                watcher.Start();
            }

            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        return 0;
    }

    private static async Task<int> EnterSandboxAsync(string[] args, Slirp4netnsOptions options, int tapFd)
    {
        var apiFd = -1;
        if (options.ApiSocket is { } path)
        {
            try
            {
                var listener = Slirp4netnsApiSocket.Bind(path);
                apiFd = (int)listener.SafeHandle.DangerousGetHandle();
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"{Slirp4netnsCommandLine.Program}: --api-socket {path}: {e.Message}").ConfigureAwait(false);
                return 1;
            }
        }

        string why;
        if (Environment.IsPrivilegedProcess)
        {
            why = Slirp4netnsSandbox.Enter(args, tapFd, apiFd);
        }
        else if ((options.UserNamespacePath ?? (options.TargetPid is { } pid ? $"/proc/{pid}/ns/user" : null)) is { } userns)
        {
            why = Slirp4netnsSandbox.EnterUserNamespace(args, tapFd, apiFd, userns);
        }
        else
        {
            why = "--enable-sandbox: not root, and no user namespace to be root in (give the target by PID or --userns-path)";
        }

        await Console.Error.WriteLineAsync($"{Slirp4netnsCommandLine.Program}: {why}").ConfigureAwait(false);
        return 1;
    }

    /// <summary>QEMU's user netdev with slirp4netns's addressing (host .2, DNS .3, DHCP from .15; IPv6 fd00::/64 with -6).</summary>
    internal static NetdevUserOptions UserOptions(Slirp4netnsOptions options) => new()
    {
        Net = string.Create(CultureInfo.InvariantCulture, $"{options.Network}/{options.PrefixLength}"),
        Host = options.HostAddress.ToString(),
        Dns = options.DnsAddress.ToString(),
        Dhcpstart = options.DhcpStart.ToString(),
        Ipv4 = true,
        Ipv6 = options.EnableIpv6,
        Ipv6Prefix = options.EnableIpv6 ? "fd00::" : null,
        Ipv6Prefixlen = options.EnableIpv6 ? 64 : null,
        Ipv6Host = options.EnableIpv6 ? "fd00::2" : null,
        Ipv6Dns = options.EnableIpv6 ? "fd00::3" : null,
        HostLoopback = !options.DisableHostLoopback,

        // The tap's MTU is also the guest's (RA, DHCP, fragmenting) as libslirp's if_mtu; the
        // user netdev's ceiling is 65520, one below slirp4netns's.
        Mtu = (uint)Math.Min(options.Mtu, 65520),
    };

    private static bool SignalReady(int fd)
    {
        ReadOnlySpan<byte> one = "1"u8;
        var ok = Libc.Write(fd, one) == 1;
        _ = Libc.Close(fd);
        return ok;
    }

    /// <summary>slirp4netns's -e: the caller holds the other end; readable or closed means stop.</summary>
    private static void WaitForExitFd(int fd, CancellationTokenSource stop)
    {
        Span<PollFd> poll = [new PollFd { Fd = fd, Events = Libc.POLLIN }];
        while (true)
        {
            var n = Libc.Poll(poll, -1);
            if (n > 0 || (n < 0 && Errno.Last != Errno.EINTR))
            {
                break;
            }
        }

        try
        {
            stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
