using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.Sockets;
using Netdevd.Native;
using Netdevd.Qapi.Errors;

namespace Netdevd.Backends.Bridge;

/// <summary>
/// QEMU's net_bridge_run_helper: runs qemu-bridge-helper (or a command line given as the helper)
/// with <c>--use-vnet --fd=N --br=BR</c> on one end of a unix socket pair and receives the tap
/// descriptor it opened and plugged into the bridge, by SCM_RIGHTS, with a one-byte message.
/// </summary>
public static class BridgeHelper
{
    /// <summary>QEMU's $libexecdir/qemu-bridge-helper as Debian builds it.</summary>
    public const string DefaultPath = "/usr/lib/qemu/qemu-bridge-helper";

    /// <summary>QEMU's DEFAULT_BRIDGE_INTERFACE.</summary>
    public const string DefaultBridge = "br0";

    /// <summary>Runs the helper and returns the tap descriptor (owned by the caller), or throws with QEMU's text.</summary>
    public static async Task<int> RunAsync(string? helper, string bridge)
    {
        helper ??= DefaultPath;
        ArgumentNullException.ThrowIfNull(bridge);

        // Our end closes on exec; the helper's end must survive exec, on the number it is told.
        if (!Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, out var ours, out var theirs))
        {
            throw ErrnoText.Last("socketpair() failed");
        }

        using var socket = new SafeFileHandle(ours, ownsHandle: true);
        Process? process;
        try
        {
            _ = Libc.SetCloseOnExec(theirs, false);
            var fdArg = "--fd=" + theirs.ToString(CultureInfo.InvariantCulture);
            var start = Command(helper, bridge, fdArg);
            process = Process.Start(start);
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            // QEMU's child exits 1 when execv fails: no descriptor arrives, then "bridge helper
            // failed". An empty helper is such a program (.NET refuses to start it at all).
            process = null;
        }
        finally
        {
            _ = Libc.Close(theirs);
        }

        using (process)
        {
            var fds = new List<SafeFileHandle>(1);
            nint n;
            int errno;
            var one = new byte[1];
            do
            {
                n = UnixRights.Receive(socket, one, fds, 0);
                errno = n < 0 ? Errno.Last : 0;
            }
            while (n < 0 && errno == Errno.EINTR);

            var exitedOk = true;
            if (process is not null)
            {
                await process.WaitForExitAsync().ConfigureAwait(false);
                exitedOk = process.ExitCode == 0;
            }
            else
            {
                exitedOk = false;
            }

            if (n < 0)
            {
                CloseAll(fds);
                throw ErrnoText.Error("failed to recv file descriptor", errno);
            }

            // A helper that ends without sending anything (denied by its ACL, missing bridge) gives
            // an empty read; QEMU then reports only the failed exit status.
            if (!exitedOk || fds.Count == 0)
            {
                CloseAll(fds);
                throw new QapiException("bridge helper failed");
            }

            for (var i = 1; i < fds.Count; i++)
            {
                fds[i].Dispose();
            }

            var tap = (int)fds[0].DangerousGetHandle();
            fds[0].SetHandleAsInvalid();
            return tap;
        }
    }

    /// <summary>A helper string with a space or tab is a shell command (QEMU runs it with /bin/sh -c).</summary>
    internal static ProcessStartInfo Command(string helper, string bridge, string fdArg)
    {
        ProcessStartInfo start;
        if (helper.Contains(' ', StringComparison.Ordinal) || helper.Contains('\t', StringComparison.Ordinal))
        {
            var brArg = helper.Contains("--br=", StringComparison.Ordinal) ? "" : "--br=" + bridge;
            start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"{helper} --use-vnet {fdArg} {brArg}");
        }
        else
        {
            start = new ProcessStartInfo(helper) { UseShellExecute = false };
            start.ArgumentList.Add("--use-vnet");
            start.ArgumentList.Add(fdArg);
            start.ArgumentList.Add("--br=" + bridge);
        }

        return start;
    }

    private static void CloseAll(List<SafeFileHandle> fds)
    {
        foreach (var fd in fds)
        {
            fd.Dispose();
        }
    }
}
