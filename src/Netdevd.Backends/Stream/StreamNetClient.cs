using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.Io;
using Netdevd.Core.Retry;
using Netdevd.Native;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;
using QapiSocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Backends.Stream;

/// <summary>
/// <c>-netdev stream</c> (QEMU's net/stream.c): a server that serves one client at a time, or a
/// client that connects and, with <c>reconnect=N</c>, tries again every N seconds. Listening
/// and connecting happen off the caller's thread, as in QEMU, so netdev_add succeeds and
/// failures show up as <c>error: ...</c> in the info string.
/// </summary>
internal sealed class StreamNetClient : FramedSocketClient
{
    private readonly QapiSocketAddress _address;
    private readonly bool _server;
    private readonly TimeSpan _reconnect;
    private readonly IQapiEventSink _events;
    private readonly TimeProvider _time;
    private readonly Lock _connectGate = new();
    private readonly Action<Socket?> _trackConnect;
    private readonly string? _fdError;

    // Ends a unix connect waiting on a far end's full backlog when the netdev closes.
    private readonly CancellationTokenSource _closed = new();
    private QapiSocketAddress? _listenAddress;
    private QapiSocketAddress? _remote;
    private ITimer? _timer;
    private long _timerArmedAt;
    private Socket? _connectInFlight;
    private string? _unlinkPath;
    private volatile bool _closing;

    public StreamNetClient(string name, NetdevStreamOptions options, QapiSocketAddress address, string? fdError, IQapiEventSink events, TimeProvider time, ILogger logger, IoThreadPool? pool = null)
        : base(name, NetClientDriver.Stream, logger, pool)
    {
        _address = address;
        _fdError = fdError;
        _server = options.Server == true;
        _reconnect = TimeSpan.FromSeconds(options.Reconnect ?? 0);
        _events = events;
        _time = time;
        _trackConnect = TrackConnect;
        Info = _server ? "initializing" : "connecting";
        SetLinkUp(false);
    }

    public void Start()
    {
        StartLoop();
        if (_server)
        {
            _ = Task.Run(ListenWorker);
        }
        else
        {
            StartConnect();
        }
    }

    protected override void OnConnected(Socket socket, bool accepted)
    {
        QapiSocketAddress address;
        if (accepted)
        {
            // QEMU reports the listening (local) address for unix, the client's for the rest.
            address = socket.AddressFamily == AddressFamily.Unix
                ? _listenAddress ?? SocketAddressText.UnnamedUnix()
                : SocketAddressText.Describe(socket.RemoteEndPoint!);
        }
        else
        {
            address = _remote!;
            if (socket.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            {
                // qio_channel_set_delay(false) on the client side only, as QEMU.
                socket.NoDelay = true;
            }
        }

        Info = SocketAddressText.Uri(address);
        SetLinkUp(true);
        _events.Emit(QapiEvents.NetdevStreamConnected(Name, address));
    }

    protected override void OnDisconnected()
    {
        SetLinkUp(false);
        if (_server)
        {
            Info = "listening";
        }

        _events.Emit(QapiEvents.NetdevStreamDisconnected(Name));
        ArmReconnect();
    }

    protected override void OnClosed()
    {
        _closing = true;
        lock (_connectGate)
        {
            _timer?.Dispose();
            _timer = null;
            _connectInFlight?.Dispose();
            _closed.Cancel();
        }

        if (_unlinkPath is not null)
        {
            Libc.Unlink(_unlinkPath);
        }
    }

    private void ListenWorker()
    {
        try
        {
            if (_fdError is not null)
            {
                throw new SocketSetupException(_fdError);
            }

            var listener = StreamListen.Listen(_address, out var unlinkPath);
            var local = listener.LocalEndPoint;
            HandOverListener(listener, () => OnListening(listener, local, unlinkPath), unlinkPath is null ? null : () => Libc.Unlink(unlinkPath));
        }
        catch (SocketSetupException e)
        {
            TryPost(() => Info = $"error: {e.Message}");
        }
    }

    private void OnListening(Socket listener, System.Net.EndPoint? local, string? unlinkPath)
    {
        _unlinkPath = unlinkPath;
        _listenAddress = local is null ? null : SocketAddressText.Describe(local);
        Listen(listener);
        SetLinkUp(false);
        Info = "listening";
    }

    private void StartConnect()
    {
        _ = Task.Run(async () =>
        {
            try
            {
                if (_fdError is not null)
                {
                    throw new SocketSetupException(_fdError);
                }

                var (socket, remote) = await StreamConnect.ConnectAsync(_address, _trackConnect, _closed.Token).ConfigureAwait(false);
                HandOver(socket, () =>
                {
                    _remote = remote;
                    Attach(socket, accepted: false);
                });
            }
            catch (SocketSetupException e)
            {
                TryPost(() =>
                {
                    Info = $"error: {e.Message}";
                    ArmReconnect();
                });
            }
            catch (OperationCanceledException)
            {
                // Deleted while the far end's backlog was full: nothing was connected.
            }
        });
    }

    private void TrackConnect(Socket? socket)
    {
        lock (_connectGate)
        {
            _connectInFlight = socket;
            if (socket is not null && _closing)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>
    /// Loop thread: with reconnect=N, a new attempt in N seconds (one timer at a time). N may be
    /// longer than a timer waits (up to 136 years against 49.7 days): the timer then fires early
    /// and is armed again for the rest (<see cref="FireReconnect"/>).
    /// </summary>
    private void ArmReconnect()
    {
        if (_reconnect <= TimeSpan.Zero)
        {
            return;
        }

        lock (_connectGate)
        {
            if (_timer is not null || _closing)
            {
                return;
            }

            Info = "connecting";
            _timerArmedAt = _time.GetTimestamp();
            _timer = _time.CreateTimer(_ => TryPost(FireReconnect), null, LongWait.TimerPiece(_reconnect), Timeout.InfiniteTimeSpan);
        }
    }

    private void FireReconnect()
    {
        lock (_connectGate)
        {
            var left = _reconnect - _time.GetElapsedTime(_timerArmedAt);
            if (_timer is { } timer && left > TimeSpan.Zero)
            {
                timer.Change(LongWait.TimerPiece(left), Timeout.InfiniteTimeSpan);
                return;
            }

            _timer?.Dispose();
            _timer = null;
        }

        StartConnect();
    }
}
