using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Native;
using Netdevd.UserNet.Host;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// pasta's splice for -t: a connection to a forwarded port from a client on the host's loopback
/// goes to the same port on the namespace's loopback (127.0.0.1, or ::1 for an IPv6 client), as
/// two sockets joined by splice(2), with no tap and no TCP stack of ours in between: what pasta's
/// users get and rely on (a server in the namespace bound to its loopback only is reachable from
/// the host's). When nothing listens there, the connection goes through the user netdev to the
/// namespace's address instead, so a server bound to that address alone is reached as before.
/// Event-driven as pasta: the namespace's sockets come from one thread that joined it
/// (<see cref="NamespaceSockets"/>), and every connection's data moves on one relay thread
/// (<see cref="SpliceRelay"/>), however many connections there are.
/// </summary>
internal sealed class LoopbackSplice : ILoopbackSplice, IDisposable
{
    /// <summary>
    /// Connections spliced at once. Each holds two sockets and two pipes (six descriptors, and
    /// pipe buffers the kernel allocates as data waits in them); past this, further clients take
    /// the user netdev's path (its own NAT limits apply there), as pasta's flow table has a bound.
    /// </summary>
    public const int DefaultMaxConnections = 4096;

    /// <summary>
    /// How long a connect may wait for the namespace's listener. On the loopback it is decided
    /// within the connect call (accepted or refused); a listener with a full backlog drops the
    /// SYN, and the relay's thread then waits for it (never the user netdev's, whose every guest
    /// would stall) and gives the client back to the user netdev's path after this.
    /// </summary>
    public const int DefaultConnectTimeoutMs = 1000;

    /// <summary>
    /// What the pipes of all connections may hold at once, roughly: data a slow reader leaves in
    /// a pipe is kernel memory outside any socket's limits. A few connections get pasta's 8 MiB
    /// pipes; many share this, down to the kernel's default 64 KiB pipe each.
    /// </summary>
    private const long PipeBudget = 256L << 20;

    private readonly NamespaceSockets _sockets;
    private readonly SpliceRelay _relay;
    private readonly int _maxConnections;
    private readonly int _pipeSize;
    private readonly int _connectTimeoutMs;
    private readonly ILogger _logger;
    private int _limitLogged;
    private int _disposed;

    private LoopbackSplice(NamespaceSockets sockets, int maxConnections, int pipeSize, int connectTimeoutMs, ILogger logger)
    {
        _connectTimeoutMs = connectTimeoutMs;
        _sockets = sockets;
        _relay = new SpliceRelay(Join);
        _maxConnections = maxConnections;
        _pipeSize = pipeSize;
        _logger = logger;
    }

    /// <summary>Connections being relayed now.</summary>
    public int Connections => _relay.Count;

    /// <summary>Clients whose connect in the namespace is not decided yet (the listener did not answer).</summary>
    public int PendingConnects => _relay.Pending;

    /// <summary>
    /// Joins the namespace at <paramref name="netnsPath"/> (a thread of its own) and starts the
    /// relay; throws <see cref="IOException"/> with why not.
    /// </summary>
    public static LoopbackSplice Open(string netnsPath, ILogger? logger = null, int maxConnections = DefaultMaxConnections, int pipeSize = SplicePipe.MaxSize,
        int connectTimeoutMs = DefaultConnectTimeoutMs) =>
        Start(new NamespaceSockets(NamespaceThread.Start(netnsPath), ownsThread: true), logger, maxConnections, pipeSize, connectTimeoutMs);

    /// <summary>Starts the relay with the namespace's sockets made by <paramref name="ns"/>, which the caller ends after disposing this.</summary>
    public static LoopbackSplice Open(NamespaceThread ns, ILogger? logger = null) =>
        Start(new NamespaceSockets(ns, ownsThread: false), logger, DefaultMaxConnections, SplicePipe.MaxSize, DefaultConnectTimeoutMs);

    private static LoopbackSplice Start(NamespaceSockets sockets, ILogger? logger, int maxConnections, int pipeSize, int connectTimeoutMs)
    {
        try
        {
            return new LoopbackSplice(sockets, maxConnections, pipeSize, connectTimeoutMs, logger ?? NullLogger.Instance);
        }
        catch
        {
            sockets.Dispose();
            throw;
        }
    }

    public bool TrySplice(int fd, bool ipv6, int guestPort, ISpliceFallback fallback)
    {
        ArgumentNullException.ThrowIfNull(fallback);
        if (Volatile.Read(ref _disposed) != 0)
        {
            return false;
        }

        if (_relay.Count + _relay.Pending >= _maxConnections)
        {
            if (Interlocked.Exchange(ref _limitLogged, 1) == 0)
            {
                _logger.LogWarning("{Max} loopback connections spliced at once: further ones to forwarded ports go through the namespace's interface to its address", _maxConnections);
            }

            return false;
        }

        var (inner, state) = ConnectInNamespace(ipv6, guestPort);
        switch (state)
        {
            case ConnectState.Failed:
                return false;
            case ConnectState.InProgress:
                // Not answered within the connect call: the relay's thread learns the outcome, and
                // gives the client back through the fallback unless it is joined.
                if (_relay.AddPending(new PendingSplice(fd, inner, fallback, Environment.TickCount64 + _connectTimeoutMs)))
                {
                    return true;
                }

                Libc.Close(inner);
                return false;
        }

        var connection = Join(fd, inner);
        if (connection is null)
        {
            // Out of descriptors or pipe memory: the namespace's server saw a connection open
            // and close; the client goes the user netdev's way.
            Libc.Close(inner);
            return false;
        }

        if (!_relay.Add(connection))
        {
            // Closing: the client's descriptor stays the caller's.
            Libc.Close(inner);
            connection.ClosePipes();
            return false;
        }

        return true;
    }

    /// <summary>
    /// The connection of a host client and a connected namespace socket, with its pipes (any
    /// thread: the relay's calls it for connects it watched); null when no pipe could be made, and
    /// both descriptors stay the caller's.
    /// </summary>
    private SplicedConnection? Join(int fd, int inner)
    {
        var pipeSize = PipeSize(_pipeSize, _relay.Count);
        var toInner = SplicePipe.Create(pipeSize);
        var toHost = toInner is null ? null : SplicePipe.Create(pipeSize);
        if (toHost is null)
        {
            toInner?.Dispose();
            return null;
        }

        // Both ends as pasta sets them: buffers as large as allowed, small writes leave at once,
        // acknowledgements too (the namespace's socket got its buffers before it connected).
        SpliceBuffers.Enlarge(fd);
        _ = Libc.SetSockOptInt(fd, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, 1);
        _ = Libc.SetSockOptInt(inner, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, 1);
        _ = Libc.SetSockOptInt(fd, Libc.IPPROTO_TCP, Libc.TCP_QUICKACK, 1);
        _ = Libc.SetSockOptInt(inner, Libc.IPPROTO_TCP, Libc.TCP_QUICKACK, 1);
        return new SplicedConnection(fd, inner, toInner!, toHost);
    }

    /// <summary>The pipe size for a new connection beside <paramref name="connections"/> others: <see cref="PipeBudget"/> shared, within [64 KiB, <paramref name="largest"/>].</summary>
    internal static int PipeSize(int largest, int connections) =>
        (int)Math.Clamp(PipeBudget / (2L * (connections + 1)), Math.Min(64 << 10, largest), largest);

    private enum ConnectState
    {
        Connected,
        InProgress,
        Failed,
    }

    /// <summary>A non-blocking socket of the namespace connecting to [loopback]:port there, and how far it got without waiting.</summary>
    private (int Fd, ConnectState State) ConnectInNamespace(bool ipv6, int port)
    {
        var fd = _sockets.Take(ipv6);
        if (fd < 0)
        {
            return (-1, ConnectState.Failed);
        }

        var target = ipv6 ? SockAddr.Inet6(new IPEndPoint(IPAddress.IPv6Loopback, port)) : SockAddr.Inet(new IPEndPoint(IPAddress.Loopback, port));
        if (Libc.Connect(fd, target) == 0)
        {
            return (fd, ConnectState.Connected);
        }

        if (Errno.Last != Errno.EINPROGRESS)
        {
            Libc.Close(fd);
            return (-1, ConnectState.Failed);
        }

        // The loopback's handshake (or its reset) completes within the connect call, even
        // non-blocking: this poll (which never waits) finds it decided but for a listener whose
        // backlog is full, whose outcome the relay's thread waits for instead.
        Span<PollFd> poll = [new PollFd { Fd = fd, Events = Libc.POLLOUT }];
        int ready;
        do
        {
            ready = Libc.Poll(poll, 0);
        }
        while (ready < 0 && Errno.Last == Errno.EINTR);

        if (ready == 0)
        {
            return (fd, ConnectState.InProgress);
        }

        if (ready < 0 || Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_ERROR, out var error) < 0 || error != 0)
        {
            // Refused at once (nothing listens): no wait, the caller's path right away.
            Libc.Close(fd);
            return (-1, ConnectState.Failed);
        }

        return (fd, ConnectState.Connected);
    }

    /// <summary>Resets every spliced connection (their peers see the splice gone) and leaves the namespace's thread.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _relay.Dispose();
            _sockets.Dispose();
        }
    }
}
