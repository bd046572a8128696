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

    /// <summary>
    /// A UDP socket in <paramref name="netns"/> with IP_RECVERR / IPV6_RECVERR on: without it a
    /// plain UDP socket is told of a port unreachable only, not of a host or network unreachable.
    /// </summary>
    public static Socket CreateUdpHearingErrors(string netns, AddressFamily family)
    {
        var socket = Create(netns, family, SocketType.Dgram, ProtocolType.Udp);
        if (family == AddressFamily.InterNetworkV6)
        {
            socket.SetRawSocketOption(Libc.IPPROTO_IPV6, Libc.IPV6_RECVERR, [1, 0, 0, 0]);
        }
        else
        {
            socket.SetRawSocketOption(Libc.IPPROTO_IP, Libc.IP_RECVERR, [1, 0, 0, 0]);
        }

        return socket;
    }
}
