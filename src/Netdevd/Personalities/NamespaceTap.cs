using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Win32.SafeHandles;
using Netdevd.Native;
using Netdevd.Run;

namespace Netdevd.Personalities;

/// <summary>
/// The tap of a namespace a personality serves (slirp4netns's and pasta's target), opened by
/// netdevd's inside half under nsenter (a tap belongs to the namespace it is opened in; joining
/// a user namespace needs a single-threaded process, which .NET is not) and handed back.
/// </summary>
internal static class NamespaceTap
{
    /// <summary>The tap's descriptor; -1 after writing why not to <paramref name="errors"/>.</summary>
    public static int Open(string program, string netnsPath, string? usernsPath, string ifname, int mtu, Ipv4Setup? ipv4, TextWriter errors, Ipv6Setup? ipv6 = null)
    {
        if (!Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, out var ours, out var theirs))
        {
            errors.WriteLine($"{program}: socketpair: {Errno.Message(Errno.Last)}");
            return -1;
        }

        using var channel = new SafeFileHandle(ours, ownsHandle: true);
        Process child;
        try
        {
            _ = Libc.SetCloseOnExec(theirs, false);
            var inner = new List<string>(SelfCommand.Get());
            inner.AddRange(NamespaceChild.Arguments(theirs, ifname, mtu, raiseLoopback: ipv4 is not null || ipv6 is not null, ipv4, ipv6, []));
            var start = NamespaceLauncher.Join(netnsPath, usernsPath, inner);
            start.RedirectStandardError = true;
            child = Process.Start(start) ?? throw new Win32Exception();
        }
        catch (Win32Exception e)
        {
            errors.WriteLine($"{program}: could not start the namespace helper: {e.Message}");
            return -1;
        }
        finally
        {
            _ = Libc.Close(theirs);
        }

        using (child)
        {
            var why = child.StandardError.ReadToEndAsync();
            var tap = TapHandoff.Receive(channel);
            child.WaitForExit();
            if (tap < 0)
            {
                // nsenter's or the inside half's own words, then ours.
                errors.Write(why.GetAwaiter().GetResult());
                errors.WriteLine($"{program}: could not open {ifname} in {netnsPath}");
            }

            return tap;
        }
    }
}
