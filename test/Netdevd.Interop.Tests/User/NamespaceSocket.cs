using System.Net.Sockets;
using Netdevd.Native;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// A socket of the test's own inside a named network namespace: a short-lived thread enters the
/// namespace (setns) and creates the socket, which belongs to that namespace for good; the test
/// then binds, connects and talks from any thread.
/// </summary>
internal static class NamespaceSocket
{
    public static Socket Create(string netns, AddressFamily family, SocketType type, ProtocolType protocol)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var ns = File.OpenHandle($"/run/netns/{netns}");
                if (Libc.SetNs((int)ns.DangerousGetHandle(), Libc.CLONE_NEWNET) != 0)
                {
                    throw new IOException($"setns {netns}: {Errno.Message(Errno.Last)}");
                }

                socket = new Socket(family, type, protocol);
            }
            catch (Exception e) when (e is IOException or SocketException or UnauthorizedAccessException)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return socket ?? throw new InvalidOperationException($"cannot create a socket in {netns}", failure);
    }
}
