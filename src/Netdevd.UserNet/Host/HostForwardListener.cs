using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Netdevd.Native;
using Netdevd.UserNet.Forwarding;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The host socket of one hostfwd rule: a TCP listener whose connections become connections to the
/// guest, or a UDP socket whose clients each get a flow. Bound at creation (so a port in use fails
/// the rule at once, as in QEMU) with SO_REUSEADDR like libslirp.
/// </summary>
internal sealed class HostForwardListener : HostWork, IHostIoHandler, IDisposable
{
    /// <summary>Connections accepted or datagrams read per turn before other sockets get theirs.</summary>
    private const int Batch = 16;
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private readonly UserNetEngine _engine;
    private readonly Socket _socket;
    private readonly Dictionary<(Ipv4Address, ushort), UdpForwardFlow> _udpClients = [];
    private bool _closed;
    private bool _readable;
    private int _fd = -1;
    private int _token;

    private HostForwardListener(UserNetEngine engine, HostForwardRule rule, Socket socket)
    {
        _engine = engine;
        Rule = rule;
        _socket = socket;
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        Info = new HostForwardInfo(rule.Text, rule.Protocol, bound.Address.ToString(), bound.Port, rule.GuestAddress.ToString(), rule.GuestPort);
    }

    public HostForwardRule Rule { get; }

    public HostForwardInfo Info { get; }

    /// <summary>Binds the rule's socket; throws SocketException when the address is taken or invalid.</summary>
    public static HostForwardListener Open(UserNetEngine engine, HostForwardRule rule)
    {
        var socket = rule.Udp
            ? new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // SO_REUSEADDR alone, as libslirp: .NET's ReuseAddress also sets SO_REUSEPORT on Linux,
            // which would let a second rule bind a port already in use.
            Span<byte> one = [1, 0, 0, 0];
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, one);
            socket.Bind(new IPEndPoint(SocketAddressBytes.ToIpAddress(rule.HostAddress), rule.HostPort));
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
    public bool Matches(bool udp, Ipv4Address hostAddress, int hostPort) =>
        Rule.Udp == udp && Rule.HostAddress == hostAddress && (Info.HostPort == hostPort || Rule.HostPort == hostPort);

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
        _engine.Queue(this);
    }

    /// <summary>Accepts the pending connections or reads the pending datagrams, a batch per turn (under the engine lock).</summary>
    public override void Run()
    {
        if (_closed || !_readable)
        {
            return;
        }

        for (var i = 0; i < Batch && !_closed; i++)
        {
            if (!(Rule.Udp ? ReceiveOne() : AcceptOne()))
            {
                _readable = false;
                return;
            }
        }

        _engine.Queue(this); // more may wait: after the others
    }

    /// <summary>One pending connection becomes a connection to the guest; false when none is pending.</summary>
    private bool AcceptOne()
    {
        Span<byte> from = stackalloc byte[SockAddrIn.Length];
        var fd = Libc.Accept(_fd, from, out _, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
        if (fd < 0)
        {
            // EAGAIN: none left; ECONNABORTED and the like: that client is gone, try the next.
            return Errno.Last != Errno.EAGAIN;
        }

        var endpoint = HostTcpEndpoint.AcceptedFd(_engine, fd);
        var connection = _engine.Stack.OpenForward(Rule.GuestAddress, (ushort)Rule.GuestPort, endpoint);
        if (connection is null)
        {
            endpoint.Close();
        }
        else
        {
            endpoint.Attach(connection);
            endpoint.Sync();
        }

        return true;
    }

    /// <summary>One datagram from a client to its flow; false when none is pending.</summary>
    private bool ReceiveOne()
    {
        var buffer = _engine.DatagramBuffer;
        Span<byte> from = stackalloc byte[SockAddrIn.Length];
        var n = Libc.RecvFrom(_fd, buffer, Libc.MSG_DONTWAIT, from, out _);
        if (n < 0)
        {
            // EAGAIN: none left; an ICMP error for an earlier reply: go on.
            return Errno.Last != Errno.EAGAIN;
        }

        Deliver(Ipv4Address.Read(from[4..]), BinaryPrimitives.ReadUInt16BigEndian(from[2..]), buffer.AsSpan(0, (int)n));
        return true;
    }

    private void Deliver(Ipv4Address client, ushort clientPort, ReadOnlySpan<byte> payload)
    {
        var key = (client, clientPort);
        if (!_udpClients.TryGetValue(key, out var flow) || flow.Closed)
        {
            var address = SocketAddressBytes.CreateIpv4();
            SocketAddressBytes.Write(address, client, clientPort);
            flow = _engine.Stack.OpenUdpForward(Rule.GuestAddress, (ushort)Rule.GuestPort, new UdpClientState(this, address));
            if (flow is null)
            {
                return;
            }

            _udpClients[key] = flow;
        }

        _engine.Stack.OnUdpForwardDatagram(flow, payload);
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

        _socket.Dispose();
    }
}

/// <summary>A UDP forward flow's host side: the listener it came in on and the client's address.</summary>
internal sealed record UdpClientState(HostForwardListener Listener, SocketAddress Client) : IHostEndpointInfo
{
    /// <summary>For query-usernet: the host end of such a flow is its client.</summary>
    public IPEndPoint? HostLocalEndPoint => Client.Family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
        ? new IPEndPoint(IPAddress.Any, 0).Create(Client) as IPEndPoint
        : null;
}
