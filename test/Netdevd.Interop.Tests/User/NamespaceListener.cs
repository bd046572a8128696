using System.Net;
using System.Net.Sockets;
using Netdevd.Native;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// A TCP listener of the test's own inside a named network namespace: a short-lived thread enters
/// the namespace (setns) and creates the socket, which belongs to that namespace for good; the test
/// then accepts and talks from any thread.
/// </summary>
internal static class NamespaceListener
{
    public static Socket Listen(string netns, IPEndPoint endPoint)
    {
        Socket? listener = null;
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

                listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(endPoint);
                listener.Listen(4);
            }
            catch (Exception e) when (e is IOException or SocketException or UnauthorizedAccessException)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return listener ?? throw new InvalidOperationException($"cannot listen in {netns}", failure);
    }
}
