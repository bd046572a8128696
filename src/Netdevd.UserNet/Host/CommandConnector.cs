using System.Diagnostics;
using System.Net.Sockets;
using Netdevd.Native;

namespace Netdevd.UserNet.Host;

/// <summary>
/// guestfwd's <c>cmd:COMMAND</c>: runs COMMAND through /bin/sh with one end of a socket pair as
/// its stdin and stdout (as QEMU's chardev "cmd" does with a pipe pair), and returns the other end
/// as a connected socket, so the flow's I/O is the same as for a TCP target.
/// </summary>
internal static class CommandConnector
{
    public static Socket Start(string commandLine)
    {
        if (!Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, out var ours, out var theirs))
        {
            throw new IOException($"socketpair: {Errno.Message(Errno.Last)}");
        }

        try
        {
            // The child's end must survive exec; ours must not leak into it.
            Libc.SetCloseOnExec(theirs, false);
            var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"exec /bin/sh -c \"$0\" <&{theirs} >&{theirs} {theirs}>&-");
            start.ArgumentList.Add(commandLine);
            using var process = Process.Start(start) ?? throw new IOException("could not start /bin/sh");
        }
        catch
        {
            Libc.Close(ours);
            throw;
        }
        finally
        {
            Libc.Close(theirs);
        }

        return new Socket(new SafeSocketHandle(ours, ownsHandle: true));
    }
}
