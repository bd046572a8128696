using System.Net.Sockets;
using Netdevd.Native;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The host socket of one TCP flow: a non-blocking descriptor in the netdev's epoll set, read
/// straight into the connection's send ring and written straight from its receive ring on the
/// netdev's I/O thread (or the thread of the guest's frame). Readiness is kept here until EAGAIN;
/// the stack's <see cref="Sync"/> only queues the endpoint, and the engine runs it after the
/// stack's pass, so a completion never re-enters the stack.
/// </summary>
/// <remarks>
/// The registration is one-shot and asks only for what this side waits for: input after a read
/// hit EAGAIN, output after a write did. Edge-triggered epoll reports every arrival of data (and
/// every ACK that frees send space), so while a bulk transfer kept the socket busy each of the
/// sender's writes woke the I/O thread only to find the work done by the guest's thread, which
/// held the lock: a wake-up and a contended lock per host write.
/// </remarks>
internal sealed class HostTcpEndpoint : HostWork, ITcpHostSocket, IHostIoHandler, IHostEndpointInfo
{
    private readonly UserNetEngine _engine;
    private TcpConnection? _connection;

    /// <summary>The .NET socket that owns the descriptor when one was handed over (accepted, command, device); null for ours.</summary>
    private Socket? _owner;
    private int _fd = -1;
    private int _token;

    /// <summary>The endpoints still to try when the connect in progress fails (<see cref="HostTarget.Tcp.Then"/>).</summary>
    private IReadOnlyList<System.Net.IPEndPoint>? _then;
    private int _thenIndex;
    private bool _connecting;
    private bool _connected;
    private bool _reportConnect;
    private int _connectErrno;

    /// <summary>The connect went out with a TTL of the guest's and hears ICMP errors about its SYN (until it connects).</summary>
    private bool _hearsErrors;
    private bool _ipv6;

    /// <summary>The ICMP error a router or the far end sent about the SYN of a failed connect (Origin 0: none heard).</summary>
    private ExtendedSocketError _connectIcmp;

    /// <summary>Who sent <see cref="_connectIcmp"/> (IPv4 as IPv4-mapped; unspecified: not named).</summary>
    private Ipv6Address _connectOffender;
    private bool _readable;
    private bool _writable;
    private bool _eof;
    private bool _shutdown;
    private bool _closed;

    /// <summary>The events the one-shot registration is armed for; 0 once it reported (disarmed).</summary>
    private uint _armed;

    public HostTcpEndpoint(UserNetEngine engine)
    {
        _engine = engine;
    }

    /// <summary>For a host forward: a descriptor from accept4 (non-blocking), connected already (under the engine lock).</summary>
    public static HostTcpEndpoint AcceptedFd(UserNetEngine engine, int fd)
    {
        _ = Libc.SetSockOptInt(fd, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, 1);
        var endpoint = new HostTcpEndpoint(engine) { _fd = fd, _connected = true, _readable = true, _writable = true };
        try
        {
            endpoint.Register();
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }

        return endpoint;
    }

    public void Attach(TcpConnection connection) => _connection = connection;

    public System.Net.IPEndPoint? HostLocalEndPoint => _fd >= 0 ? Libc.GetSockName(_fd)?.ToIPEndPoint() : null;

    /// <summary>
    /// Starts a non-blocking connect (under the engine lock); the result is reported after the
    /// stack's pass. <paramref name="ttl"/>: as <see cref="INatHost.OpenTcp"/>'s.
    /// </summary>
    public void Connect(TcpConnection connection, HostTarget target, byte ttl)
    {
        _connection = connection;
        switch (target)
        {
            case HostTarget.Tcp tcp:
                _then = tcp.Then;
                ConnectTcp(tcp.EndPoint, ttl);
                break;
            case HostTarget.Command command:
                Socket? socket;
                try
                {
                    socket = CommandConnector.Start(command.CommandLine, _engine.ContainFault);
                }
                catch (Exception e) when (e is SocketException or IOException or System.ComponentModel.Win32Exception)
                {
                    socket = null;
                }

                UseConnected(socket);
                break;
            case HostTarget.Service service:
                Socket? served;
                try
                {
                    served = service.Server.Open();
                }
                catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
                {
                    served = null;
                }

                UseConnected(served);
                break;
            default:
                throw new NotSupportedException(target.GetType().Name);
        }
    }

    private void ConnectTcp(System.Net.IPEndPoint endPoint, byte ttl = 0)
    {
        var ipv6 = _ipv6 = endPoint.AddressFamily == AddressFamily.InterNetworkV6;
        var fd = Libc.Socket(ipv6 ? Libc.AF_INET6 : Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            // A host without the family (ipv6.disable=1) has no network for it: the guest's connect
            // fails as unreachable; anything else (no descriptors left) as refused.
            _connectErrno = Errno.Last == Errno.EAFNOSUPPORT ? Errno.ENETUNREACH : 0;
            ReportConnect(false);
            return;
        }

        _fd = fd;
        _ = Libc.SetSockOptInt(fd, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, 1);
        if (ttl != 0)
        {
            // The virtual router's hop (a traceroute's TCP probe); a router's time exceeded or
            // unreachable about the SYN waits on the error queue with its sender.
            _ = SocketTtl.Set(fd, ttl, ipv6);
            RecvErrSocket.Enable(fd, ipv6);
            _hearsErrors = true;
        }

        Register();
        if (Libc.Connect(fd, endPoint.Serialize().Buffer.Span) == 0)
        {
            _connected = true;
            StopHearingErrors();
            ReportConnect(true);
        }
        else if (Errno.Last == Errno.EINPROGRESS)
        {
            _connecting = true; // EPOLLOUT (or EPOLLERR) reports the result
        }
        else
        {
            _connectErrno = Errno.Last; // at once: the stack may answer with an ICMP error (libslirp's tcp_input)
            ReportConnect(false);
        }
    }

    /// <summary>
    /// Makes <paramref name="socket"/> (already connected: a command's pipe, a guestfwd device's
    /// relay) this flow's socket, or refuses the guest's connect when it is null.
    /// </summary>
    public void UseConnected(TcpConnection connection, Socket? socket)
    {
        _connection = connection;
        UseConnected(socket);
    }

    private void UseConnected(Socket? socket)
    {
        if (socket is not null)
        {
            Adopt(socket);
            _connected = true;
        }

        ReportConnect(socket is not null);
    }

    /// <summary>Takes the descriptor of a socket made elsewhere into the epoll set (the socket keeps owning it).</summary>
    private void Adopt(Socket socket)
    {
        socket.Blocking = false;
        _owner = socket;
        _fd = (int)socket.SafeHandle.DangerousGetHandle();
        Register();

        // Edge-triggered: assume ready until EAGAIN says otherwise (an edge before the
        // registration would never be reported).
        _readable = true;
        _writable = true;
    }

    /// <summary>
    /// After a failed connect: closes its socket and connects to the next endpoint of the target,
    /// if one is left. The failed socket's one-shot registration has reported (or the connect failed
    /// before it could), so no event of it is still to come.
    /// </summary>
    private bool TryNextEndPoint()
    {
        if (_then is null || _thenIndex >= _then.Count)
        {
            return false;
        }

        if (_fd >= 0)
        {
            _engine.Poller.Unregister(_fd, _token);
            Libc.Close(_fd);
            _fd = -1;
        }

        _connecting = false;
        _connectErrno = 0;
        _connectIcmp = default;
        _hearsErrors = false;
        _readable = false;
        _writable = false;
        _armed = 0;
        ConnectTcp(_then[_thenIndex++]);
        return true;
    }

    /// <summary>
    /// A connected socket stops turning ICMP errors into errors: with IP_RECVERR on, Linux fails an
    /// established connection on any ICMP error (even a passing host unreachable), which without it
    /// only counts when the connection times out (RFC 1122 4.2.3.9).
    /// </summary>
    private void StopHearingErrors()
    {
        if (_hearsErrors)
        {
            _hearsErrors = false;
            RecvErrSocket.Disable(_fd, _ipv6);
        }
    }

    /// <summary>
    /// The failed connect's ICMP error, if one came: Linux fails a connect at the first ICMP error
    /// about its SYN (a hop's time exceeded among them), and IP_RECVERR queued it with its sender.
    /// </summary>
    private void TakeConnectError()
    {
        Span<byte> quoted = stackalloc byte[TcpHeaderQuote];
        Span<byte> destination = stackalloc byte[SockAddrIn6.Length];
        Span<byte> offender = stackalloc byte[SockAddrIn6.Length];
        if (!Libc.ReadErrorQueue(_fd, quoted, destination, offender, out var error) ||
            error.Origin is not (ExtendedSocketError.OriginIcmp or ExtendedSocketError.OriginIcmp6))
        {
            return;
        }

        _connectIcmp = error;
        offender = offender[..error.OffenderLength];
        _connectOffender = SockAddrIn.TryRead(offender, out var from4, out _) ? Ipv6Address.FromIpv4Mapped(from4)
            : SockAddrIn6.TryRead(offender, out var from6, out _) ? from6
            : Ipv6Address.Unspecified;
    }

    /// <summary>What of the SYN the error queue gives back (unused: the stack rebuilds the guest's SYN).</summary>
    private const int TcpHeaderQuote = 60;

    /// <summary>Adds the descriptor to the epoll set, armed for everything once (a spurious first report costs one EAGAIN).</summary>
    private void Register()
    {
        const uint all = Libc.EPOLLIN | Libc.EPOLLRDHUP | Libc.EPOLLOUT;
        _token = _engine.Poller.Register(_fd, this, all | Libc.EPOLLONESHOT);
        _armed = all;
    }

    /// <summary>Re-arms the registration for what this side now waits for, if it is not armed for it already.</summary>
    private void Rearm()
    {
        if (_closed || _fd < 0)
        {
            return;
        }

        var wanted = (_readable || _eof ? 0 : Libc.EPOLLIN | Libc.EPOLLRDHUP) | (_writable && !_connecting ? 0 : Libc.EPOLLOUT);
        if (wanted == 0 || (wanted & ~_armed) == 0)
        {
            return;
        }

        _armed = _engine.Poller.Rearm(_fd, _token, wanted) ? wanted : 0;
    }

    private void ReportConnect(bool success)
    {
        _connected = success;
        _reportConnect = true;
        _engine.Queue(this);
    }

    public void Sync() => _engine.Queue(this);

    public int SendNow(ReadOnlySpan<byte> data)
    {
        if (_closed || !_connected || _fd < 0 || !_writable || _shutdown)
        {
            return 0;
        }

        var n = Libc.Send(_fd, data, Libc.MSG_NOSIGNAL | Libc.MSG_DONTWAIT);
        if (n > 0)
        {
            return (int)n;
        }

        if (n < 0 && Errno.Last == Errno.EAGAIN)
        {
            _writable = false; // the write from the ring waits for EPOLLOUT
        }

        return 0;
    }

    public void OnReady(uint events)
    {
        _armed = 0; // one-shot: this report disarmed it
        if ((events & (Libc.EPOLLIN | Libc.EPOLLRDHUP | Libc.EPOLLHUP | Libc.EPOLLERR)) != 0)
        {
            _readable = true;
        }

        if ((events & (Libc.EPOLLOUT | Libc.EPOLLHUP | Libc.EPOLLERR)) != 0)
        {
            _writable = true;
            if (_connecting)
            {
                _connecting = false;
                var ok = Libc.GetSockOptInt(_fd, Libc.SOL_SOCKET, Libc.SO_ERROR, out var error) == 0 && error == 0;

                // Why it failed matters as much later as at once: a router's host unreachable or a
                // neighbour that never answered is an ICMP error to the guest, not a refusal.
                _connectErrno = ok ? 0 : error;
                if (ok)
                {
                    StopHearingErrors();
                }
                else if (_hearsErrors)
                {
                    TakeConnectError();
                }

                ReportConnect(ok);
                return;
            }
        }

        _engine.Queue(this);
    }

    /// <summary>
    /// One step: report a connect result, or one write, or one read. Each report makes the stack
    /// service the connection, which queues this endpoint again while there is more to do.
    /// </summary>
    public override void Run()
    {
        RunStep();
        Rearm();
    }

    private void RunStep()
    {
        if (_closed || _connection is not { } c)
        {
            return;
        }

        if (_reportConnect)
        {
            _reportConnect = false;
            if (!_connected && TryNextEndPoint())
            {
                return; // its result is reported in its turn
            }

            if (_connected)
            {
                // Edge-triggered: assume ready until EAGAIN says otherwise; the connect's edge may
                // have come before the result was taken.
                _readable = true;
                _writable = true;
            }

            if (!_connected && _connectErrno != 0)
            {
                _engine.Stack.OnTcpConnectFailed(c, _connectErrno, _connectIcmp, _connectOffender);
            }
            else
            {
                _engine.Stack.OnTcpConnected(c, _connected);
            }

            return;
        }

        if (!_connected)
        {
            return;
        }

        if (_writable && TryWrite(c))
        {
            return;
        }

        if (_readable && !_eof && c.WantsHostData)
        {
            TryRead(c);
        }
    }

    /// <summary>Writes what the guest sent; true when the stack was told something.</summary>
    private bool TryWrite(TcpConnection c)
    {
        var data = c.HostWriteBuffer();
        if (data.Count == 0)
        {
            if (c.WantsHostShutdown && !_shutdown)
            {
                _shutdown = true;
                _ = Libc.Shutdown(_fd, Libc.SHUT_WR); // a reset peer is reported by the read side
            }

            return false;
        }

        var n = Libc.Send(_fd, data.AsSpan(), Libc.MSG_NOSIGNAL | Libc.MSG_DONTWAIT);
        if (n > 0)
        {
            _engine.Stack.OnTcpSent(c, (int)n);
            return true;
        }

        var errno = Errno.Last;
        if (n < 0 && (errno == Errno.EAGAIN || errno == Errno.EINTR))
        {
            _writable = errno == Errno.EINTR;
            return false;
        }

        _engine.Stack.OnTcpHostError(c);
        return true;
    }

    private void TryRead(TcpConnection c)
    {
        c.HostReadBuffers(out var first, out var second);
        if (first.Count == 0)
        {
            return;
        }

        // Every descriptor here is non-blocking: readv takes what recv would, across the ring's wrap.
        var n = second.Count == 0 ? Libc.Recv(_fd, first.AsSpan(), Libc.MSG_DONTWAIT) : Libc.ReadV(_fd, first.AsSpan(), second.AsSpan());
        if (n >= 0)
        {
            if (n == 0)
            {
                _eof = true;
            }
            else if (n < first.Count + second.Count)
            {
                // A stream socket that gave less than asked for had no more at that moment: the
                // registration is armed for input now (its arming reports data that came since)
                // instead of a read that would only say EAGAIN, a system call per request/response.
                _readable = false;
            }

            _engine.Stack.OnTcpReceived(c, (int)n);
            return;
        }

        var errno = Errno.Last;
        if (errno == Errno.EAGAIN || errno == Errno.EINTR)
        {
            _readable = errno == Errno.EINTR;
            return;
        }

        _engine.Stack.OnTcpHostError(c);
    }

    /// <summary>The flow is gone (under the engine lock): close the socket, abortively after a guest RST, and free the connection.</summary>
    public void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        if (_fd >= 0)
        {
            _engine.Poller.Unregister(_fd, _token);
            if (_connection is { } c && (c.ResetByGuest || c.State != TcpState.Closed))
            {
                _ = Libc.SetAbortiveClose(_fd);
            }

            if (_owner is { } owner)
            {
                owner.Dispose();
            }
            else
            {
                Libc.Close(_fd);
            }

            _fd = -1;
        }
        else
        {
            _owner?.Dispose();
        }

        // Every socket call is synchronous under the engine lock: nothing can still write into the rings.
        _connection?.Dispose();
        _connection = null;
    }
}
