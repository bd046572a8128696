using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using Netdevd.Native;

namespace Netdevd.UserNet.Host;

/// <summary>
/// guestfwd's <c>cmd:COMMAND</c>: runs COMMAND through /bin/sh per connection with pipes as its
/// stdin and stdout (as QEMU's chardev does), bridged to one end of a socket pair; the other end
/// is returned as a connected socket, so the flow's I/O is the same as for a TCP target.
/// </summary>
/// <remarks>
/// Pipes and a bridge rather than handing the socket to the child as its stdio: /bin/sh (dash)
/// cannot redirect descriptors above 9, and .NET's process start has no dup2 hook.
/// </remarks>
internal static class CommandConnector
{
    /// <param name="containFault">The netdev's fault containment: a bug in the bridge is counted on the netdev, not lost in a task.</param>
    public static Socket Start(string commandLine, Func<Exception, object, bool> containFault)
    {
        if (!Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, out var ours, out var theirs))
        {
            throw new IOException($"socketpair: {Errno.Message(Errno.Last)}");
        }

        var flow = new Socket(new SafeSocketHandle(ours, ownsHandle: true));
        var bridge = new Socket(new SafeSocketHandle(theirs, ownsHandle: true));
        Process process;
        try
        {
            var start = new ProcessStartInfo("/bin/sh")
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
            };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(commandLine);
            process = Process.Start(start) ?? throw new IOException("could not start /bin/sh");
        }
        catch
        {
            flow.Dispose();
            bridge.Dispose();
            throw;
        }

        _ = BridgeAsync(process, bridge, containFault);
        return flow;
    }

    private static async Task BridgeAsync(Process process, Socket bridge, Func<Exception, object, bool> containFault)
    {
        try
        {
            using (process)
            using (bridge)
            {
                var toChild = CopyToChildAsync(bridge, process.StandardInput.BaseStream);
                var fromChild = CopyFromChildAsync(process.StandardOutput.BaseStream, bridge);
                await Task.WhenAll(toChild, fromChild).ConfigureAwait(false);
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                await process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (containFault(e, CommandBridge.Instance))
        {
            // Counted on the netdev; this connection's command is gone (its socket is closed).
        }
    }

    /// <summary>Names this bridge in a fault report (the containment logs the layer's type name).</summary>
    private sealed class CommandBridge
    {
        public static readonly CommandBridge Instance = new();
    }

    private static async Task CopyToChildAsync(Socket from, Stream to)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16384);
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                await to.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            await to.DisposeAsync().ConfigureAwait(false); // the child sees end of input
        }
    }

    private static async Task CopyFromChildAsync(Stream from, Socket to)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16384);
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer.AsMemory()).ConfigureAwait(false)) > 0)
            {
                var sent = 0;
                while (sent < n)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None).ConfigureAwait(false);
                }
            }

            to.Shutdown(SocketShutdown.Send); // the guest sees FIN when the command's output ends
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
