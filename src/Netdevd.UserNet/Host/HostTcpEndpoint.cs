using System.Net;
using System.Net.Sockets;
using Netdevd.UserNet.Nat;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The host socket of one TCP flow. Non-blocking .NET socket operations (the runtime's epoll
/// engine, no thread per flow) receive straight into the connection's send ring and send straight
/// from its receive ring. Every completion takes the engine lock, tells the stack, and the stack
/// calls <see cref="Sync"/> back, which starts whatever I/O the connection wants next.
/// </summary>
internal sealed class HostTcpEndpoint : IDisposable
{
    private readonly UserNetEngine _engine;
    private readonly SocketAsyncEventArgs _receiveArgs = new();
    private readonly SocketAsyncEventArgs _sendArgs = new();
    private TcpConnection? _connection;
    private Socket? _socket;
    private bool _connected;
    private bool _receiving;
    private bool _sending;
    private bool _eof;
    private bool _shutdown;
    private bool _closed;
    private bool _inSync;
    private bool _resync;

    public HostTcpEndpoint(UserNetEngine engine)
    {
        _engine = engine;
        _receiveArgs.Completed += (_, _) => OnReceiveCompleted();
        _sendArgs.Completed += (_, _) => OnSendCompleted();
    }

    /// <summary>For a host forward: the socket was accepted, so it is connected already.</summary>
    public static HostTcpEndpoint Accepted(UserNetEngine engine, Socket socket)
    {
        socket.NoDelay = true;
        return new HostTcpEndpoint(engine) { _socket = socket, _connected = true };
    }

    public void Attach(TcpConnection connection) => _connection = connection;

    /// <summary>Starts a non-blocking connect (called under the engine lock).</summary>
    public void Connect(TcpConnection connection, HostTarget target)
    {
        _connection = connection;
        EndPoint endPoint;
        try
        {
            switch (target)
            {
                case HostTarget.Tcp tcp:
                    _socket = new Socket(tcp.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    endPoint = tcp.EndPoint;
                    break;
                case HostTarget.Command command:
                    UseConnected(CommandConnector.Start(command.CommandLine));
                    return;
                default:
                    throw new NotSupportedException(target.GetType().Name);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or System.ComponentModel.Win32Exception)
        {
            QueueConnectResult(false);
            return;
        }

        var args = new SocketAsyncEventArgs { RemoteEndPoint = endPoint };
        args.Completed += (_, a) => OnConnectCompleted(a);
        if (!_socket.ConnectAsync(args))
        {
            // Completed at once (loopback often does): report later, not inside the stack's input.
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Item1.OnConnectCompleted(s.args), (Item1: this, args), false);
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
        _socket = socket;
        _connected = socket is not null;
        QueueConnectResult(_connected);
    }

    private void QueueConnectResult(bool success) =>
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Item1.ReportConnect(s.success), (Item1: this, success), false);

    private void OnConnectCompleted(SocketAsyncEventArgs args)
    {
        var success = args.SocketError == SocketError.Success;
        args.Dispose();
        if (success)
        {
            _connected = true;
        }

        ReportConnect(success);
    }

    // The completions below run on pool threads: a fault in the stack is the user netdev's
    // (counted, logged once), never an unhandled exception that ends the process.
    private void ReportConnect(bool success)
    {
        try
        {
            lock (_engine.Lock)
            {
                if (_closed || _connection is null)
                {
                    return;
                }

                _engine.Stack.OnTcpConnected(_connection, success);
            }

            _engine.Flush();
        }
        catch (Exception e) when (_engine.ContainFault(e, this))
        {
        }
    }

    /// <summary>Starts the reads, writes and shutdown the connection allows now (under the engine lock).</summary>
    public void Sync()
    {
        if (_inSync)
        {
            _resync = true; // a completion that ran inline asked again: the outer loop repeats
            return;
        }

        _inSync = true;
        try
        {
            do
            {
                _resync = false;
                if (_closed || !_connected || _connection is not { } c || _socket is not { } socket)
                {
                    return;
                }

                if (!_sending)
                {
                    var data = c.HostWriteBuffer();
                    if (data.Count > 0)
                    {
                        _sending = true;
                        _sendArgs.SetBuffer(data.Array, data.Offset, data.Count);
                        if (!socket.SendAsync(_sendArgs))
                        {
                            SendDone();
                        }
                    }
                    else if (c.WantsHostShutdown && !_shutdown)
                    {
                        _shutdown = true;
                        TryShutdown(socket);
                    }
                }

                if (!_receiving && !_eof && c.WantsHostData)
                {
                    var space = c.HostReadBuffer();
                    if (space.Count > 0)
                    {
                        _receiving = true;
                        _receiveArgs.SetBuffer(space.Array, space.Offset, space.Count);
                        if (!socket.ReceiveAsync(_receiveArgs))
                        {
                            ReceiveDone();
                        }
                    }
                }
            }
            while (_resync);
        }
        finally
        {
            _inSync = false;
        }
    }

    private static void TryShutdown(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // Already reset by the peer: the receive side reports it.
        }
    }

    private void OnReceiveCompleted()
    {
        try
        {
            lock (_engine.Lock)
            {
                ReceiveDone();
            }

            _engine.Flush();
        }
        catch (Exception e) when (_engine.ContainFault(e, this))
        {
        }
    }

    private void OnSendCompleted()
    {
        try
        {
            lock (_engine.Lock)
            {
                SendDone();
            }

            _engine.Flush();
        }
        catch (Exception e) when (_engine.ContainFault(e, this))
        {
        }
    }

    private void ReceiveDone()
    {
        _receiving = false;
        if (_closed || _connection is not { } c)
        {
            DisposeArgsIfIdle();
            return;
        }

        if (_receiveArgs.SocketError != SocketError.Success)
        {
            _engine.Stack.OnTcpHostError(c);
            return;
        }

        var n = _receiveArgs.BytesTransferred;
        if (n == 0)
        {
            _eof = true;
        }

        _engine.Stack.OnTcpReceived(c, n);
    }

    private void SendDone()
    {
        _sending = false;
        if (_closed || _connection is not { } c)
        {
            DisposeArgsIfIdle();
            return;
        }

        if (_sendArgs.SocketError != SocketError.Success)
        {
            _engine.Stack.OnTcpHostError(c);
            return;
        }

        _engine.Stack.OnTcpSent(c, _sendArgs.BytesTransferred);
    }

    /// <summary>The flow is gone (under the engine lock): close the socket, abortively after a guest RST.</summary>
    public void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        if (_socket is { } socket)
        {
            try
            {
                if (_connection?.ResetByGuest == true || _connection?.State != TcpState.Closed)
                {
                    socket.LingerState = new LingerOption(true, 0);
                }
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }

            socket.Dispose();
        }

        DisposeArgsIfIdle();
    }

    /// <summary>Same as <see cref="Close"/> (callers hold the engine lock).</summary>
    public void Dispose() => Close();

    private void DisposeArgsIfIdle()
    {
        if (!_closed)
        {
            return;
        }

        // The connection's rings go back to the pool only when no socket operation can still
        // write into them.
        if (!_receiving && !_sending)
        {
            _receiveArgs.Dispose();
            _sendArgs.Dispose();
            _connection?.Dispose();
            _connection = null;
        }
    }
}
