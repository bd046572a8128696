using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.Tap;
using Netdevd.Native;
using Netdevd.Qapi.Errors;

namespace Netdevd.Run;

/// <summary>
/// The inside half of <c>netdevd run</c>: netdevd re-executed by unshare/nsenter inside the
/// target namespace. It opens the tap there (a tap belongs to the namespace it is created in),
/// sets its MTU and brings it and loopback up, sends the descriptor to the daemon over the
/// inherited socket, then becomes the user's command with execvp, keeping this process id so
/// that the daemon's wait sees the command's own exit status.
/// </summary>
internal static class NamespaceChild
{
    /// <summary>The internal first argument; not a documented command.</summary>
    public const string Verb = "__netdevd-run-child";

    /// <summary>
    /// The arguments after <see cref="Verb"/>: socket, ifname, mtu, whether to raise lo, the IPv4
    /// set-up or "-", the IPv6 set-up or "-", then the command; with no command the inside half
    /// ends once the tap is sent.
    /// </summary>
    public static IReadOnlyList<string> Arguments(int socket, string ifname, int mtu, bool raiseLoopback, Ipv4Setup? ipv4, Ipv6Setup? ipv6, IReadOnlyList<string> command)
    {
        var args = new List<string>
        {
            Verb,
            socket.ToString(CultureInfo.InvariantCulture),
            ifname,
            mtu.ToString(CultureInfo.InvariantCulture),
            raiseLoopback ? "lo" : "-",
            ipv4?.Encode() ?? "-",
            ipv6?.Encode() ?? "-",
        };
        args.AddRange(command);
        return args;
    }

    public static int Run(string[] args)
    {
        // Anyone can type the verb: arguments that netdevd run would not have made are refused.
        if (args.Length < 7
            || (args[5] != "-" && Ipv4Setup.Decode(args[5]) is null)
            || (args[6] != "-" && Ipv6Setup.Decode(args[6]) is null)
            || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var socket)
            || !int.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out var mtu))
        {
            Console.Error.WriteLine("netdevd run: internal helper called with arguments netdevd did not make");
            return 127;
        }

        var ifname = args[2];
        var raiseLoopback = args[4] == "lo";
        var ipv4 = args[5] == "-" ? null : Ipv4Setup.Decode(args[5]);
        var ipv6 = args[6] == "-" ? null : Ipv6Setup.Decode(args[6]);
        var command = args[7..];
        int tap;
        try
        {
            var vnetHeader = true;
            tap = TapDevice.Open(ifname, ref vnetHeader, vnetHdrRequired: false, multiQueue: false, out var actual);
            if (ipv6 is not null)
            {
                // Before the link goes up, so that no advertisement is taken in between.
                Ipv6InterfaceSetup.IgnoreRouterAdvertisements(actual);
            }

            var failure = raiseLoopback ? InterfaceSetup.Configure("lo", null) : null;
            failure ??= InterfaceSetup.Configure(actual, mtu);
            failure ??= ipv4 is null ? null : InterfaceSetup.ConfigureIpv4(actual, ipv4);
            failure ??= ipv6 is null ? null : Ipv6InterfaceSetup.Configure(actual, ipv6);
            if (failure is not null)
            {
                Console.Error.WriteLine($"netdevd run: {failure}");
                return 127;
            }
        }
        catch (QapiException e)
        {
            Console.Error.WriteLine($"netdevd run: {e.Message}");
            return 127;
        }

        using (var channel = new SafeFileHandle(socket, ownsHandle: true))
        using (var tapHandle = new SafeFileHandle(tap, ownsHandle: true))
        {
            ReadOnlySpan<byte> one = [0];
            if (UnixRights.Send(channel, one, [tapHandle], 0) < 0)
            {
                Console.Error.WriteLine($"netdevd run: could not pass the tap to netdevd: {Errno.Message(Errno.Last)}");
                return 127;
            }
        }

        if (command.Length == 0)
        {
            // A personality's tap (slirp4netns, pasta): nothing to run in the namespace.
            return 0;
        }

        Console.Out.Flush();
        Console.Error.Flush();
        Libc.ExecVp(command[0], command);
        var errno = Errno.Last;
        Console.Error.WriteLine($"netdevd run: {command[0]}: {Errno.Message(errno)}");

        // The shell's convention: 127 not found, 126 found but not runnable.
        return errno == Errno.ENOENT ? 127 : 126;
    }
}
