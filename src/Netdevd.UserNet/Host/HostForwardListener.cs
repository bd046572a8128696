using System.Net;
using System.Net.Sockets;
using Netdevd.Core.Retry;
using Netdevd.Native;
using Netdevd.UserNet.Forwarding;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The host socket of one hostfwd rule: a TCP listener whose connections become connections to the
/// guest, or a UDP socket whose clients each get a flow. Bound at creation (so a port in use fails
/// the rule at once, as in QEMU) with SO_REUSEADDR like libslirp; an IPv6 host address binds an
/// IPv6-only socket (libslirp's SLIRP_HOSTFWD_V6ONLY), so <c>[::]:p</c> and <c>:p</c> can coexist.
/// The guest sees each client's own address (see <see cref="ForwardedClient"/>).
/// </summary>
internal sealed class HostForwardListener : HostWork, IHostIoHandler, ISpliceFallback, IDisposable
{
    /// <summary>Connections accepted or datagrams read per turn before other sockets get theirs.</summary>
    private const int Batch = 16;
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    private readonly UserNetEngine _engine;
    private readonly AcceptRetry _retry;
    private readonly Socket _socket;
    private readonly Dictionary<ForwardedClient.Key, UdpForwardFlow> _udpClients = [];
    private readonly Ipv4Address _guest;
    private readonly Ipv6Address _guest6;
    private bool _closed;
    private bool _readable;
    /// <summary>A failed accept's retry is timed: readiness only marks the listener readable until then.</summary>
    private bool _waiting;
    private RetryBackoff _backoff = RetryBackoff.ForAccept();
    private int _fd = -1;
    private int _token;

    private HostForwardListener(UserNetEngine engine, HostForwardRule rule, Socket socket)
    {
        _engine = engine;
        _retry = new AcceptRetry(this);
        Rule = rule;
        _socket = socket;
        _guest = SocketAddressBytes.FromIpAddress(rule.GuestAddress);
        _guest6 = rule.GuestIsIpv6 ? Ipv6Address.FromIPAddress(rule.GuestAddress) : default;
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        Info = new HostForwardInfo(rule.Text, rule.Protocol, bound.Address.ToString(), bound.Port, rule.GuestAddress.ToString(), rule.GuestPort);
    }

    public HostForwardRule Rule { get; }

    public HostForwardInfo Info { get; }

    /// <summary>The UDP clients this forward keeps a flow for (under the engine lock).</summary>
    internal int UdpClientCount => _udpClients.Count;

    /// <summary>Binds the rule's socket; throws SocketException when the address is taken or invalid.</summary>
    public static HostForwardListener Open(UserNetEngine engine, HostForwardRule rule)
    {
        var family = rule.HostAddress.AddressFamily;
        var socket = rule.Udp
            ? new Socket(family, SocketType.Dgram, ProtocolType.Udp)
            : new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (family == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            // SO_REUSEADDR alone, as libslirp: .NET's ReuseAddress also sets SO_REUSEPORT on Linux,
            // which would let a second rule bind a port already in use. TCP only: on a UDP socket
            // it lets any other socket that set it bind the same port too (a second rule for the
            // port, another program's socket), and the datagrams go to one of them. libslirp sets
            // it on UDP only after bind, so there the port in use fails the rule as here.
            if (!rule.Udp)
            {
                Span<byte> one = [1, 0, 0, 0];
                socket.SetRawSocketOption(SolSocket, SoReuseAddr, one);
            }

            socket.Bind(new IPEndPoint(rule.HostAddress, rule.HostPort));
            if (!rule.Udp)
            {
                socket.Listen(16);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var listener = new HostForwardListener(engine, rule, socket);
        lock (engine.Lock)
        {
            try
            {
                listener.Register();
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        return listener;
    }

    /// <summary>Matches a hostfwd-remove key: protocol, host address and the bound (or given) port.</summary>
    public bool Matches(bool udp, IPAddress hostAddress, int hostPort) =>
        Rule.Udp == udp && Rule.HostAddress.Equals(hostAddress) && (Info.HostPort == hostPort || Rule.HostPort == hostPort);

    /// <summary>Registers the bound socket with the netdev's epoll set (under the engine lock).</summary>
    private void Register()
    {
        _socket.Blocking = false;
        _fd = (int)_socket.SafeHandle.DangerousGetHandle();
        _token = _engine.Poller.Register(_fd, this, output: false);
    }

    public void OnReady(uint events)
    {
        _readable = true;
        if (!_waiting)
        {
            _engine.Queue(this);
        }
    }

    /// <summary>Accepts the pending connections or reads the pending datagrams, a batch per turn (under the engine lock).</summary>
    public override void Run()
    {
        if (_closed || !_readable || _waiting)
        {
            return;
        }

        for (var i = 0; i < Batch && !_closed; i++)
        {
            if (!(Rule.Udp ? ReceiveOne() : AcceptOne()))
            {
                // None left; or an accept failed and its retry is timed, and the clients that
                // wait are taken then (the poller is edge-triggered: it will not report them again).
                _readable = _waiting;
                return;
            }
        }

        _engine.Queue(this); // more may wait: after the others
    }

    /// <summary>
    /// One pending connection becomes a connection to the guest; false when none is pending, or
    /// when accept failed for want of descriptors or memory and the next try is timed.
    /// </summary>
    private bool AcceptOne()
    {
        Span<byte> from = stackalloc byte[ForwardedClient.SockAddrLength];
        var fd = Libc.Accept(_fd, from, out _, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
        if (fd < 0)
        {
            var errno = Errno.Last;
            if (errno == Errno.EAGAIN)
            {
                _backoff.Reset();
                return false;
            }

            if (errno is Errno.ECONNABORTED or Errno.EPROTO or Errno.EINTR)
            {
                // That client is gone before it was taken: try the next.
                return true;
            }

            // EMFILE, ENFILE, ENOBUFS, ENOMEM: the client stays in the backlog and trying again
            // at once fails again (it ran the I/O thread at 100% under the engine lock). Wait on
            // the netdev's timer, longer while failures go on, then take what queued meanwhile.
            _engine.Stack.Counters.HostForwardAcceptFailures++;
            _waiting = true;
            _engine.QueueAt(_retry, _engine.Stack.NowMs + (long)_backoff.Next().TotalMilliseconds);
            return false;
        }

        _backoff.Reset();

        if (_engine.LoopbackSplice is { } splice && ForwardedClient.IsLoopback(from)
            && splice.TrySplice(fd, ForwardedClient.Family(from) == AddressFamily.InterNetworkV6, Rule.GuestPort, this))
        {
            return true;
        }

        OpenTowardsGuest(fd, from);
        return true;
    }

    /// <summary>Any thread: the splice could not join a client it took; it goes to the guest on the I/O thread.</summary>
    public void GiveBack(int fd)
    {
        if (_engine.SpliceReturns is { } returns)
        {
            returns.Post(this, fd);
        }
        else
        {
            Libc.Close(fd);
        }
    }

    /// <summary>A client the splice gave back becomes a connection to the guest (I/O thread, under the engine lock).</summary>
    public void OpenTowardsGuest(int fd)
    {
        Span<byte> from = stackalloc byte[ForwardedClient.SockAddrLength];
        from.Clear();
        if (_closed || Libc.GetPeerName(fd, from, out _) < 0)
        {
            // The rule was removed meanwhile, or the client left: nothing to open.
            Libc.Close(fd);
            return;
        }

        OpenTowardsGuest(fd, from);
    }

    private void OpenTowardsGuest(int fd, ReadOnlySpan<byte> from)
    {
        var endpoint = HostTcpEndpoint.AcceptedFd(_engine, fd);
        var connection = Rule.GuestIsIpv6
            ? _engine.Stack.OpenForward6(_guest6, (ushort)Rule.GuestPort, ForwardedClient.Ipv6(from), ForwardedClient.Port(from), endpoint)
            : _engine.Stack.OpenForward(_guest, (ushort)Rule.GuestPort, ForwardedClient.Ipv4(from), ForwardedClient.Port(from), endpoint);
        if (connection is null)
        {
            endpoint.Close();
        }
        else
        {
            endpoint.Attach(connection);
            endpoint.Sync();
        }
    }

    /// <summary>One datagram from a client to its flow; false when none is pending.</summary>
    private bool ReceiveOne()
    {
        var buffer = _engine.DatagramBuffer;
        Span<byte> from = stackalloc byte[ForwardedClient.SockAddrLength];
        var n = Libc.RecvFrom(_fd, buffer, Libc.MSG_DONTWAIT, from, out _);
        if (n < 0)
        {
            // EAGAIN: none left; an ICMP error for an earlier reply: go on.
            return Errno.Last != Errno.EAGAIN;
        }

        Deliver(from, buffer.AsSpan(0, (int)n));
        return true;
    }

    private void Deliver(ReadOnlySpan<byte> from, ReadOnlySpan<byte> payload)
    {
        var key = ForwardedClient.KeyOf(from);
        if (!_udpClients.TryGetValue(key, out var flow) || flow.Closed)
        {
            var length = ForwardedClient.Length(from);
            var address = new SocketAddress(ForwardedClient.Family(from), length);
            from[..length].CopyTo(address.Buffer.Span);
            var state = new UdpClientState(this, address, key);
            flow = Rule.GuestIsIpv6
                ? _engine.Stack.OpenUdpForward6(_guest6, (ushort)Rule.GuestPort, ForwardedClient.Ipv6(from), ForwardedClient.Port(from), state)
                : _engine.Stack.OpenUdpForward(_guest, (ushort)Rule.GuestPort, ForwardedClient.Ipv4(from), ForwardedClient.Port(from), state);
            if (flow is null)
            {
                return;
            }

            _udpClients[key] = flow;
        }

        _engine.Stack.OnUdpForwardDatagram(flow, payload);
    }

    /// <summary>
    /// The stack closed a client's flow (expired or evicted): the client's entry goes with it
    /// (under the engine lock). Only that flow's: the client may have come back since.
    /// </summary>
    public void Forget(ForwardedClient.Key client, UdpForwardFlow flow)
    {
        if (_udpClients.TryGetValue(client, out var current) && ReferenceEquals(current, flow))
        {
            _udpClients.Remove(client);
        }
    }

    /// <summary>The guest answered a client of this forward (under the engine lock).</summary>
    public void Reply(SocketAddress client, ReadOnlySpan<byte> payload)
    {
        if (_closed)
        {
            return;
        }

        _ = Libc.SendTo(_fd, payload, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL, client.Buffer.Span[..client.Size]);
    }

    public void Dispose()
    {
        lock (_engine.Lock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _engine.Poller.Unregister(_fd, _token);
        }

        // A TCP listener stops listening now even while a copy of its descriptor lives (a child
        // forked by any thread, smbd's included, holds one until its exec). On a UDP socket the
        // shutdown changes nothing that matters: its port stays bound while a copy lives, as QEMU's would.
        Listeners.Close(_socket);
    }

    /// <summary>The timed retry of a failed accept: the listener accepts again (under the engine lock, on the I/O thread).</summary>
    private sealed class AcceptRetry(HostForwardListener listener) : HostWork
    {
        public override void Run()
        {
            listener._waiting = false;
            listener.Run();
        }
    }
}

/// <summary>A UDP forward flow's host side: the listener it came in on, the client's address and its key there.</summary>
internal sealed record UdpClientState(HostForwardListener Listener, SocketAddress Client, ForwardedClient.Key Key) : IHostEndpointInfo
{
    /// <summary>For query-usernet: the host end of such a flow is its client.</summary>
    public IPEndPoint? HostLocalEndPoint => Client.Family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
        ? new IPEndPoint(IPAddress.Any, 0).Create(Client) as IPEndPoint
        : null;
}
