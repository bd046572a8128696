using System.Net;
using System.Net.Sockets;
using Netdevd.Native;
using Netdevd.Personalities.Passt;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// pasta's -T/-U (its "outbound" forwards): ports of the namespace's loopback whose connections
/// and datagrams go to the same (or the mapped) port of the host's loopback. The listening sockets
/// are made on a thread that joined the namespace (a socket belongs for good to the namespace it
/// was created in); everything else runs in ours. Not a frame path: one relay per connection.
/// </summary>
internal sealed class NamespaceForwards : IAsyncDisposable
{
    /// <summary>UDP peers relayed at once per port, so the namespace cannot make us hold unbounded sockets.</summary>
    private const int MaxUdpPeers = 256;

    private readonly List<Socket> _listeners;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];

    private NamespaceForwards(List<Socket> listeners, IReadOnlyList<PortForward> forwards)
    {
        _listeners = listeners;
        for (var i = 0; i < listeners.Count; i++)
        {
            var target = new IPEndPoint(listeners[i].AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, forwards[i].GuestPort);
            _loops.Add(forwards[i].Protocol == "tcp" ? AcceptAsync(listeners[i], target) : RelayUdpAsync(listeners[i], target));
        }
    }

    /// <summary>
    /// Listens in the namespace at <paramref name="netnsPath"/> on each forward's port
    /// (<see cref="PortForward.HostPort"/>, on loopback unless an address was given), towards the
    /// host's loopback at <see cref="PortForward.GuestPort"/>. Throws <see cref="IOException"/> with why not.
    /// </summary>
    public static NamespaceForwards Open(string netnsPath, IReadOnlyList<PortForward> forwards)
    {
        var listeners = new List<Socket>();
        string? failure = null;
        var thread = new Thread(() => failure = ListenInNamespace(netnsPath, forwards, listeners)) { Name = "pasta namespace ports" };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            foreach (var s in listeners)
            {
                s.Dispose();
            }

            throw new IOException(failure);
        }

        return new NamespaceForwards(listeners, forwards);
    }

    private static string? ListenInNamespace(string netnsPath, IReadOnlyList<PortForward> forwards, List<Socket> into)
    {
        var fd = Libc.Open(netnsPath, Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            return $"{netnsPath}: {Errno.Message(Errno.Last)}";
        }

        try
        {
            // This thread only: it ends with the sockets made, the rest of the process stays out.
            if (Libc.SetNs(fd, Libc.CLONE_NEWNET) < 0)
            {
                return $"cannot enter {netnsPath}: {Errno.Message(Errno.Last)}";
            }

            foreach (var f in forwards)
            {
                var address = f.HostAddress ?? IPAddress.Loopback;
                var tcp = f.Protocol == "tcp";
                var socket = new Socket(address.AddressFamily, tcp ? SocketType.Stream : SocketType.Dgram, tcp ? ProtocolType.Tcp : ProtocolType.Udp);
                into.Add(socket);
                try
                {
                    if (tcp)
                    {
                        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                    }

                    socket.Bind(new IPEndPoint(address, f.HostPort));
                    if (tcp)
                    {
                        socket.Listen(128);
                    }
                }
                catch (SocketException e)
                {
                    return $"{f.Protocol} port {f.HostPort} in the namespace: {e.Message}";
                }
            }

            return null;
        }
        finally
        {
            _ = Libc.Close(fd);
        }
    }

    private async Task AcceptAsync(Socket listener, IPEndPoint target)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = RelayTcpAsync(client, target);
        }
    }

    private async Task RelayTcpAsync(Socket client, IPEndPoint target)
    {
        using (client)
        using (var host = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                await host.ConnectAsync(target, _stop.Token).ConfigureAwait(false);
                await Task.WhenAll(CopyAsync(client, host), CopyAsync(host, client)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
            {
                // Refused or reset on either side: the other side is closed with it.
            }
        }
    }

    /// <summary>One direction until end of stream, then the end passed on (half-close).</summary>
    private async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            if (n == 0)
            {
                to.Shutdown(SocketShutdown.Send);
                return;
            }

            for (var sent = 0; sent < n;)
            {
                sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Each namespace peer gets a host socket connected to the target; its replies go back to that peer.</summary>
    private async Task RelayUdpAsync(Socket listener, IPEndPoint target)
    {
        var peers = new Dictionary<EndPoint, Socket>();
        var buffer = new byte[65536];
        EndPoint any = new IPEndPoint(listener.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var received = await listener.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
                if (!peers.TryGetValue(received.RemoteEndPoint, out var host))
                {
                    if (peers.Count >= MaxUdpPeers)
                    {
                        continue;
                    }

                    host = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                    host.Connect(target);
                    peers.Add(received.RemoteEndPoint, host);
                    _ = ReturnUdpAsync(host, listener, received.RemoteEndPoint);
                }

                try
                {
                    await host.SendAsync(buffer.AsMemory(0, received.ReceivedBytes), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                }
                catch (SocketException)
                {
                    // Nothing listens on the host (an ICMP error came back): as a lost datagram.
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            foreach (var host in peers.Values)
            {
                host.Dispose();
            }
        }
    }

    private async Task ReturnUdpAsync(Socket host, Socket listener, EndPoint peer)
    {
        var buffer = new byte[65536];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n;
                try
                {
                    n = await host.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    continue;
                }

                await listener.SendToAsync(buffer.AsMemory(0, n), SocketFlags.None, peer, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
    }
}
