using System.Net;
using System.Net.Sockets;
using System.Text;
using Netdevd.Interop.Tests.Tap;
using Netdevd.Interop.Tests.User;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>An HTTP/1.0 server of the test's own that answers every request with one fixed body.</summary>
internal sealed class TinyHttpServer : IDisposable
{
    private readonly Socket _listener;
    private readonly byte[] _response;

    private TinyHttpServer(Socket listener, string body)
    {
        _listener = listener;
        var bytes = Encoding.ASCII.GetBytes(body);
        _response = [.. Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n"), .. bytes];
        _ = ServeAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public static TinyHttpServer OnLoopback(string body) => OnLoopback(body, IPAddress.Loopback);

    /// <summary>On the host's <c>::1</c> alone (an IPv6-only socket).</summary>
    public static TinyHttpServer OnLoopback6(string body) => OnLoopback(body, IPAddress.IPv6Loopback);

    private static TinyHttpServer OnLoopback(string body, IPAddress loopback)
    {
        var listener = new Socket(loopback.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(loopback, 0));
        listener.Listen(8);
        return new TinyHttpServer(listener, body);
    }

    public static TinyHttpServer InNamespace(TestNamespace ns, string body, string address = "0.0.0.0", int port = 8080) =>
        new(NamespaceListener.Listen(ns.Name, new IPEndPoint(IPAddress.Parse(address), port)), body);

    private async Task ServeAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync();
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                return;
            }

            using (client)
            {
                try
                {
                    var buffer = new byte[4096];
                    var seen = 0;
                    while (seen < buffer.Length)
                    {
                        var n = await client.ReceiveAsync(buffer.AsMemory(seen));
                        if (n == 0 || Encoding.ASCII.GetString(buffer, 0, seen + n).Contains("\r\n\r\n", StringComparison.Ordinal))
                        {
                            break;
                        }

                        seen += n;
                    }

                    await client.SendAsync(_response);
                    client.Shutdown(SocketShutdown.Both);
                }
                catch (SocketException)
                {
                }
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
