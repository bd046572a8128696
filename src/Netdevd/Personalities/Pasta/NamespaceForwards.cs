using System.Net;
using System.Net.Sockets;
using Netdevd.Core.Retry;
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

    /// <summary>TCP connections relayed at once (all ports): two descriptors and two 64 KiB buffers each.</summary>
    private const int MaxTcpRelays = 512;

    /// <summary>A UDP peer silent this long in both directions gives its host socket back (pasta's UDP flow timeout), checked as datagrams come.</summary>
    private static readonly TimeSpan s_udpIdleTimeout = TimeSpan.FromSeconds(180);


    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    private readonly NamespaceThread _namespace;
    /// <summary>The listeners by protocol and namespace address; guards itself.</summary>
    private readonly Dictionary<(bool Tcp, IPEndPoint Local), Socket> _listeners = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    /// <summary>Free relay slots: at the cap each accept loop waits with the one connection it took, the rest queue in the kernel's backlog.</summary>
    private readonly SemaphoreSlim _tcpSlots = new(MaxTcpRelays, MaxTcpRelays);

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
            var made = new List<Listener>();
            var failure = ns.Invoke(() =>
            {
                foreach (var f in forwards)
                {
                    var tcp = f.Protocol == "tcp";
                    string? why;
                    if (f.HostAddress is { } address)
                    {
                        why = opened.Listen(tcp, new IPEndPoint(address, f.HostPort), f.GuestPort, made);
                    }
                    else
                    {
                        var v4 = ipv4 ? opened.Listen(tcp, new IPEndPoint(IPAddress.Loopback, f.HostPort), f.GuestPort, made) : "IPv4 not in use";
                        var v6 = ipv6 ? opened.Listen(tcp, new IPEndPoint(IPAddress.IPv6Loopback, f.HostPort), f.GuestPort, made) : "IPv6 not in use";
                        why = v4 is null || v6 is null ? null : ipv4 ? v4 : v6;
                    }

                    if (why is not null)
                    {
                        return $"{f.Protocol} port {f.HostPort} in the namespace: {why}";
                    }
                }

                return null;
            });
            opened.Serve(made);
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
        var made = new List<Listener>();
        var listened = _namespace.Invoke(() =>
        {
            var complete = new List<int>();
            foreach (var port in ports)
            {
                var v4 = !ipv4 || Listen(tcp, new IPEndPoint(IPAddress.Loopback, port), port, made) is null;
                var v6 = !ipv6 || Listen(tcp, new IPEndPoint(IPAddress.IPv6Loopback, port), port, made) is null;
                if (v4 && v6)
                {
                    complete.Add(port);
                }
            }

            return complete;
        });
        Serve(made);
        return listened;
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

    /// <summary>
    /// On the namespace's thread: a listener at <paramref name="local"/> unless there is one, added
    /// to <paramref name="made"/> for <see cref="Serve"/>; null, or why not.
    /// </summary>
    private string? Listen(bool tcp, IPEndPoint local, int targetPort, List<Listener> made)
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
        }

        made.Add(new Listener(tcp, socket, target));
        return null;
    }

    /// <summary>
    /// Out of the namespace's thread, once its call returned: starts the accept or relay loop of
    /// each listener made. Never from that thread: a task queued there can make the pool start a
    /// worker from it, and a thread is born in its maker's namespace, so that worker's host
    /// sockets (each relay's connection to the host) would be the namespace's.
    /// </summary>
    private void Serve(List<Listener> made)
    {
        lock (_listeners)
        {
            if (_stop.IsCancellationRequested)
            {
                // Disposed meanwhile: it closed these listeners.
                return;
            }

            _loops.RemoveAll(t => t.IsCompleted);
            foreach (var (tcp, socket, target) in made)
            {
                _loops.Add(Task.Run(() => tcp ? AcceptAsync(socket, target) : RelayUdpAsync(socket, target)));
            }
        }
    }

    /// <summary>
    /// Accepts, then waits for a relay slot before the next accept: at the cap a listener holds at
    /// most the one connection it took and the others queue in the kernel's backlog (an idle
    /// listener holds no slot, so any number of auto's ports share the cap). A failed accept
    /// (descriptors ran out, or a client gone before it was taken) leaves the listener as it was:
    /// the loop waits a little, longer while failures go on, and accepts again, so no client of
    /// the namespace can end the forward.
    /// </summary>
    private async Task AcceptAsync(Socket listener, IPEndPoint target)
    {
        var backoff = RetryBackoff.ForAccept();
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
                backoff.Reset();
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException
                or SocketException { SocketErrorCode: SocketError.OperationAborted })
            {
                // Closed: the forward ends (auto's port went away, or the daemon stops).
                return;
            }
            catch (SocketException)
            {
                try
                {
                    await Task.Delay(backoff.Next(), _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            try
            {
                await _tcpSlots.WaitAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                client.Dispose();
                return;
            }

            _ = RelayTcpAsync(client, target);
        }
    }

    private async Task RelayTcpAsync(Socket client, IPEndPoint target)
    {
        try
        {
            using (client)
            using (var host = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp))
            {
                await host.ConnectAsync(target, _stop.Token).ConfigureAwait(false);
                await Task.WhenAll(CopyAsync(client, host), CopyAsync(host, client)).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
            // Refused or reset on either side, or no descriptor for the host's socket: the other
            // side is closed with it.
        }
        finally
        {
            _tcpSlots.Release();
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

    /// <summary>
    /// Each namespace peer gets a host socket connected to the target; its replies go back to that
    /// peer. A peer idle for <see cref="s_udpIdleTimeout"/> gives its socket back, and a new peer
    /// when all <see cref="MaxUdpPeers"/> are taken takes the socket of the one idle longest, so a
    /// client that uses a new source port per query (a resolver) is served for good.
    /// </summary>
    private async Task RelayUdpAsync(Socket listener, IPEndPoint target)
    {
        var peers = new Dictionary<EndPoint, UdpPeer>();
        var buffer = new byte[65536];
        EndPoint any = new IPEndPoint(listener.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        var nextSweep = Environment.TickCount64 + (long)s_udpIdleTimeout.TotalMilliseconds;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var received = await listener.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
                var now = Environment.TickCount64;
                if (now >= nextSweep)
                {
                    Sweep(peers, now);
                    nextSweep = now + (long)s_udpIdleTimeout.TotalMilliseconds / 4;
                }

                if (!peers.TryGetValue(received.RemoteEndPoint, out var peer))
                {
                    if (peers.Count >= MaxUdpPeers)
                    {
                        var oldest = peers.MinBy(p => p.Value.LastUsed);
                        oldest.Value.Dispose();
                        peers.Remove(oldest.Key);
                    }

                    peer = UdpPeer.TryConnect(target);
                    if (peer is null)
                    {
                        // No descriptor, or the target cannot be reached: as a lost datagram.
                        continue;
                    }

                    peers.Add(received.RemoteEndPoint, peer);
                    _ = ReturnUdpAsync(peer, listener, received.RemoteEndPoint);
                }

                peer.Touch(now);
                try
                {
                    await peer.Host.SendAsync(buffer.AsMemory(0, received.ReceivedBytes), SocketFlags.None, _stop.Token).ConfigureAwait(false);
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
            foreach (var peer in peers.Values)
            {
                peer.Dispose();
            }
        }
    }

    /// <summary>Gives back the sockets of peers idle for <see cref="s_udpIdleTimeout"/>.</summary>
    private static void Sweep(Dictionary<EndPoint, UdpPeer> peers, long now)
    {
        foreach (var (endPoint, peer) in peers)
        {
            if (now - peer.LastUsed >= (long)s_udpIdleTimeout.TotalMilliseconds)
            {
                peer.Dispose();
                peers.Remove(endPoint);
            }
        }
    }

    /// <summary>The host's replies to <paramref name="peer"/>, until its socket is given back or the forward closes.</summary>
    private async Task ReturnUdpAsync(UdpPeer peer, Socket listener, EndPoint to)
    {
        var buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var n = await peer.Host.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                peer.Touch(Environment.TickCount64);
                await listener.SendToAsync(buffer.AsMemory(0, n), SocketFlags.None, to, _stop.Token).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode != SocketError.OperationAborted)
            {
                // Refused by the host (an ICMP error for an earlier datagram) or not delivered
                // into the namespace: this datagram is lost, the peer stays.
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
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

        // _tcpSlots stays: relays still ending release into it, and it holds no wait handle.
        _stop.Dispose();
    }

    /// <summary>A listener made in the namespace, its loop not started yet.</summary>
    private readonly record struct Listener(bool Tcp, Socket Socket, IPEndPoint Target);
}
