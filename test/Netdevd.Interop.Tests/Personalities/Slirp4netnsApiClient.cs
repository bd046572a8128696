using System.Net.Sockets;
using System.Text;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>A request on slirp4netns's API socket as podman sends it: JSON and a newline, write side shut, one reply.</summary>
internal static class Slirp4netnsApiClient
{
    public static async Task<string> RequestAsync(string path, string json)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        await socket.SendAsync(Encoding.UTF8.GetBytes(json + "\n"));
        socket.Shutdown(SocketShutdown.Send);
        var reply = new MemoryStream();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            reply.Write(buffer, 0, n);
        }

        return Encoding.UTF8.GetString(reply.ToArray());
    }
}
