using Netdevd.Native;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The host socket of one UDP flow: bound to an ephemeral port, in the netdev's epoll set. Sends
/// with non-blocking sendto (a full socket buffer drops the datagram, as a real network may);
/// datagrams are read on the I/O thread into the engine's one datagram buffer, with the sender's
/// address read in place, up to a batch per turn. An IPv6 flow's socket is AF_INET6. ICMP errors
/// about the flow's datagrams (IP_RECVERR) are read off the error queue and relayed to the guest.
/// </summary>
internal sealed class HostUdpEndpoint : ErrorQueueWork, IHostIoHandler, IHostEndpointInfo
{
    /// <summary>Datagrams read per turn before other sockets get theirs.</summary>
    private const int Batch = 64;
    private readonly UserNetEngine _engine;
    private readonly UdpFlow _flow;
    private readonly int _fd;
    private readonly int _token;
    private readonly byte[] _destination = new byte[SockAddrIn6.Length];
    private SocketTtl _ttl;
    private bool _readable;
    private bool _closed;

    private HostUdpEndpoint(UserNetEngine engine, UdpFlow flow, int fd)
    {
        _engine = engine;
        _flow = flow;
        _fd = fd;
        _token = engine.Poller.Register(fd, this, output: false);
    }

    public System.Net.IPEndPoint? HostLocalEndPoint => _closed ? null : Libc.GetSockName(_fd)?.ToIPEndPoint();

    /// <summary>
    /// Opens and binds the socket (under the engine lock); IOException when the host refuses, its
    /// <see cref="Exception.HResult"/> the errno when the socket or its bind was refused.
    /// </summary>
    public static HostUdpEndpoint Open(UserNetEngine engine, UdpFlow flow)
    {
        var fd = Libc.Socket(flow.IsIpv6 ? Libc.AF_INET6 : Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            var refused = Errno.Last;
            throw new IOException(Errno.Message(refused), refused);
        }

        Span<byte> any = stackalloc byte[SockAddrIn6.Length];
        if (flow.IsIpv6)
        {
            SockAddrIn6.Write(any, Ipv6Address.Unspecified, 0);
        }
        else
        {
            SockAddrIn.Write(any, Ipv4Address.Any, 0);
            any = any[..SockAddrIn.Length];
        }

        if (Libc.Bind(fd, any) < 0)
        {
            var errno = Errno.Last;
            Libc.Close(fd);
            throw new IOException(Errno.Message(errno), errno);
        }

        RecvErrSocket.Enable(fd, flow.IsIpv6);

        try
        {
            return new HostUdpEndpoint(engine, flow, fd);
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
    }

    /// <summary>
    /// Sends one datagram with <paramref name="ttl"/> (0: as the last one); false when the host has
    /// no way to the destination (the stack tells the guest).
    /// </summary>
    public bool Send(Ipv4Address destination, ushort port, ReadOnlySpan<byte> payload, byte ttl)
    {
        _ttl.Apply(_fd, ttl, ipv6: false);
        SockAddrIn.Write(_destination, destination, port);
        return SendTo(payload, SockAddrIn.Length);
    }

    /// <summary><see cref="Send(Ipv4Address, ushort, ReadOnlySpan{byte}, byte)"/> from an IPv6 flow.</summary>
    public bool Send6(Ipv6Address destination, ushort port, ReadOnlySpan<byte> payload, byte hopLimit)
    {
        _ttl.Apply(_fd, hopLimit, ipv6: true);
        SockAddrIn6.Write(_destination, destination, port);
        return SendTo(payload, SockAddrIn6.Length);
    }

    /// <summary>False only when the host has no way to the destination: the guest's to know; anything else loses the datagram, which UDP allows.</summary>
    private bool SendTo(ReadOnlySpan<byte> payload, int addressLength) =>
        !Errno.IsNoRoute(RecvErrSocket.SendTo(_fd, payload, _destination.AsSpan(0, addressLength)));

    public void OnReady(uint events)
    {
        _readable = true;
        NoteEvents(events);
        _engine.Queue(this);
    }

    public override void Run()
    {
        TakeReportedErrors();
        if (_closed || !_readable)
        {
            return;
        }

        var buffer = _engine.DatagramBuffer;
        Span<byte> from = stackalloc byte[SockAddrIn6.Length];
        for (var i = 0; i < Batch; i++)
        {
            var n = Libc.RecvFrom(_fd, buffer, Libc.MSG_DONTWAIT, from, out var fromLength);
            if (n < 0)
            {
                var errno = Errno.Last;
                if (errno == Errno.EAGAIN)
                {
                    _readable = false;
                    return;
                }

                // The socket's pending error (an ICMP error, now cleared): its entry waits on the
                // error queue, with the datagram it is about.
                TakeErrors();
                if (_closed)
                {
                    return;
                }

                continue;
            }

            var sender = from[..Math.Min(fromLength, from.Length)];
            if (_flow.IsIpv6 && SockAddrIn6.TryRead(sender, out var address6, out var port6))
            {
                _engine.Stack.OnUdp6Received(_flow, address6, port6, buffer.AsSpan(0, (int)n));
            }
            else if (!_flow.IsIpv6 && SockAddrIn.TryRead(sender, out var address, out var port))
            {
                _engine.Stack.OnUdpReceived(_flow, address, port, buffer.AsSpan(0, (int)n));
            }

            if (_closed)
            {
                return;
            }
        }

        _engine.Queue(this); // more may wait: after the others
    }

    protected override int ErrorQueueFd => _fd;

    protected override bool IsClosed => _closed;

    protected override void Requeue() => _engine.Queue(this);

    /// <summary>An ICMP error about one of the flow's datagrams: to the stack with its destination, sender and quoted payload.</summary>
    protected override void OnError(in ExtendedSocketError error, Span<byte> quoted, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> offender)
    {
        if (_flow.IsIpv6)
        {
            if (SockAddrIn6.TryRead(destination, out var to, out var port))
            {
                _engine.Stack.OnUdp6Error(_flow, error, to, port, SockAddrIn6.TryRead(offender, out var from, out _) ? from : Ipv6Address.Unspecified, quoted);
            }
        }
        else if (SockAddrIn.TryRead(destination, out var to, out var port))
        {
            _engine.Stack.OnUdpError(_flow, error, to, port, SockAddrIn.TryRead(offender, out var from, out _) ? from : Ipv4Address.Any, quoted);
        }
    }

    public void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _engine.Poller.Unregister(_fd, _token);
        Libc.Close(_fd);
    }
}
