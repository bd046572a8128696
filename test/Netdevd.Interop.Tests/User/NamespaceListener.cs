using System.Net;
using System.Net.Sockets;

namespace Netdevd.Interop.Tests.User;

/// <summary>A TCP listener of the test's own inside a named network namespace (see <see cref="NamespaceSocket"/>).</summary>
internal static class NamespaceListener
{
    public static Socket Listen(string netns, IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var listener = NamespaceSocket.Create(netns, endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(endPoint);
            listener.Listen(4);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }
}
