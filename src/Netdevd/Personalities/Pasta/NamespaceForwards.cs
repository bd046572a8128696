using System.Net;
using System.Net.Sockets;
using Netdevd.Native;
using Netdevd.Personalities.Passt;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// pasta's -T/-U (its "outbound" forwards): ports of the namespace's loopback whose connections
/// and datagrams go to the same (or the mapped) port of the host's loopback. The listening sockets
/// are made by a thread that joined the namespace (a socket belongs for good to the namespace it
/// was created in), at start for the ports given and at run time for auto's (<see cref="ListenOnLoopback"/>,
/// <see cref="Close"/>); everything else runs in ours. Not a frame path: one relay per connection.
/// </summary>
internal sealed class NamespaceForwards : IAsyncDisposable
{
    /// <summary>UDP peers relayed at once per port, so the namespace cannot make us hold unbounded sockets.</summary>
    private const int MaxUdpPeers = 256;

    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    private readonly NamespaceThread _namespace;
    /// <summary>The listeners by protocol and namespace address; guards itself.</summary>
    private readonly Dictionary<(bool Tcp, IPEndPoint Local), Socket> _listeners = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];

    private NamespaceForwards(NamespaceThread ns) => _namespace = ns;

    /// <summary>
    /// Listens in the namespace (<paramref name="ns"/>'s, which the caller keeps and disposes after
    /// this) on each forward's port (<see cref="PortForward.HostPort"/>), towards the host's loopback
    /// at <see cref="PortForward.GuestPort"/>: on the address given, else, as pasta, on the loopback
    /// of each family in use (127.0.0.1 with <paramref name="ipv4"/>, ::1 with <paramref name="ipv6"/>).
    /// Throws <see cref="IOException"/> with why not when a forward gets no listener at all; a
    /// family the namespace lacks (IPv6 turned off there) is left out.
    /// </summary>
    public static NamespaceForwards Open(NamespaceThread ns, IReadOnlyList<PortForward> forwards, bool ipv4, bool ipv6)
    {
        var opened = new NamespaceForwards(ns);
        try
        {
            var failure = ns.Invoke(() =>
            {
                foreach (var f in forwards)
                {
                    var tcp = f.Protocol == "tcp";
                    string? why;
                    if (f.HostAddress is { } address)
                    {
                        why = opened.Listen(tcp, new IPEndPoint(address, f.HostPort), f.GuestPort);
                    }
                    else
                    {
                        var v4 = ipv4 ? opened.Listen(tcp, new IPEndPoint(IPAddress.Loopback, f.HostPort), f.GuestPort) : "IPv4 not in use";
                        var v6 = ipv6 ? opened.Listen(tcp, new IPEndPoint(IPAddress.IPv6Loopback, f.HostPort), f.GuestPort) : "IPv6 not in use";
                        why = v4 is null || v6 is null ? null : ipv4 ? v4 : v6;
                    }

                    if (why is not null)
                    {
                        return $"{f.Protocol} port {f.HostPort} in the namespace: {why}";
                    }
                }

                return null;
            });
            if (failure is not null)
            {
                throw new IOException(failure);
            }
        }
        catch
        {
            opened.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        return opened;
    }

    /// <summary>
    /// pasta's auto -T/-U: listens on the namespace's 127.0.0.1 (with <paramref name="ipv4"/>) and
    /// ::1 (with <paramref name="ipv6"/>) at each of <paramref name="ports"/> not listened on yet,
    /// towards the same port of the host's loopback. Returns the ports now listened on in every
    /// family asked for; a port taken in the namespace is left for the next call.
    /// </summary>
    public List<int> ListenOnLoopback(string protocol, IReadOnlyList<int> ports, bool ipv4, bool ipv6)
    {
        var tcp = protocol == "tcp";
        return _namespace.Invoke(() =>
        {
            var complete = new List<int>();
            foreach (var port in ports)
            {
                var v4 = !ipv4 || Listen(tcp, new IPEndPoint(IPAddress.Loopback, port), port) is null;
                var v6 = !ipv6 || Listen(tcp, new IPEndPoint(IPAddress.IPv6Loopback, port), port) is null;
                if (v4 && v6)
                {
                    complete.Add(port);
                }
            }

            return complete;
        });
    }

    /// <summary>Closes the loopback listeners at <paramref name="ports"/> (connections already relayed go on).</summary>
    public void Close(string protocol, IReadOnlyList<int> ports)
    {
        var tcp = protocol == "tcp";
        lock (_listeners)
        {
            foreach (var port in ports)
            {
                foreach (var address in (ReadOnlySpan<IPAddress>)[IPAddress.Loopback, IPAddress.IPv6Loopback])
                {
                    if (_listeners.Remove((tcp, new IPEndPoint(address, port)), out var listener))
                    {
                        listener.Dispose();
                    }
                }
            }
        }
    }

    /// <summary>On the namespace's thread: a listener at <paramref name="local"/> unless there is one; null, or why not.</summary>
    private string? Listen(bool tcp, IPEndPoint local, int targetPort)
    {
        lock (_listeners)
        {
            if (_listeners.ContainsKey((tcp, local)) || _stop.IsCancellationRequested)
            {
                return null;
            }
        }

        Socket socket;
        try
        {
            // Throws too when the namespace has no such family (IPv6 off there).
            socket = new Socket(local.AddressFamily, tcp ? SocketType.Stream : SocketType.Dgram, tcp ? ProtocolType.Tcp : ProtocolType.Udp);
        }
        catch (SocketException e)
        {
            return e.Message;
        }

        try
        {
            if (local.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            if (tcp)
            {
                // SO_REUSEADDR alone: .NET's ReuseAddress also sets SO_REUSEPORT, which would let
                // us bind beside a server of the namespace that listens there already.
                socket.SetRawSocketOption(SolSocket, SoReuseAddr, [1, 0, 0, 0]);
            }

            socket.Bind(local);
            if (tcp)
            {
                socket.Listen(128);
            }
        }
        catch (SocketException e)
        {
            socket.Dispose();
            return e.Message;
        }

        var target = new IPEndPoint(local.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, targetPort);
        lock (_listeners)
        {
            _listeners.Add((tcp, local), socket);
            _loops.RemoveAll(t => t.IsCompleted);
            // Run from the pool, never on the namespace's thread: a host socket made there would be the namespace's.
            _loops.Add(Task.Run(() => tcp ? AcceptAsync(socket, target) : RelayUdpAsync(socket, target)));
        }

        return null;
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
        Task[] loops;
        lock (_listeners)
        {
            foreach (var listener in _listeners.Values)
            {
                listener.Dispose();
            }

            _listeners.Clear();
            loops = [.. _loops];
        }

        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
    }
}
