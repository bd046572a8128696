using Netdevd.Personalities.Passt;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// pasta's auto port forwarding: every second, the listening sockets of the namespace (for -t/-u)
/// and of the host (for -T/-U) are read from /proc/net, and exactly those ports are forwarded
/// from the other side: new ones bound, gone ones closed. As pasta, UDP also takes the numbers of
/// bound TCP ports (iperf3 and the like), and a scan leaves out the ports forwarded the other way,
/// which are our own sockets there: forwarding them back would make a loop. The order is pasta's
/// (TCP before UDP, the host before the namespace), each side's TCP table read just before its
/// TCP map is made, so sockets opened or closed by the step before are seen as ours; other
/// sockets of this process on the host (the user netdev's UDP flows) are left out by inode.
/// One timer, re-armed after each scan; no thread of its own.
/// </summary>
internal sealed class AutoForwards : IDisposable
{
    private static readonly PortSet Nothing = new();

    private readonly IPortTables _tables;
    private readonly AutoDirection _tcpIn;
    private readonly AutoDirection _udpIn;
    private readonly AutoDirection _tcpOut;
    private readonly AutoDirection _udpOut;

    /// <summary>The TCP ports listening on the host and in the namespace, each table read once per scan (<see cref="TcpListening"/>).</summary>
    private readonly PortSet[] _tcpListening = [new(), new()];
    private readonly bool[] _tcpRead = new bool[2];
    private readonly object _gate = new();
    private Timer? _timer;
    private TimeSpan _period;
    private bool _disposed;

    /// <param name="tables">The socket tables.</param>
    /// <param name="auto">Which options are auto.</param>
    /// <param name="forwards">-t/-u as given (their host ports are kept off -T/-U).</param>
    /// <param name="namespaceForwards">-T/-U as given (their namespace ports are kept off -t/-u).</param>
    /// <param name="host">Binds -t (TCP) or -u (UDP) ports on the host.</param>
    /// <param name="inNamespace">Binds -T (TCP) or -U (UDP) ports on the namespace's loopback.</param>
    public AutoForwards(IPortTables tables, AutoPorts auto, IReadOnlyList<PortForward> forwards, IReadOnlyList<PortForward> namespaceForwards,
        Func<string, IPortBinder?> host, Func<string, IPortBinder?> inNamespace)
    {
        _tables = tables;
        _tcpIn = new AutoDirection(auto.Tcp, Given(forwards, "tcp"), auto.Tcp ? host("tcp") : null);
        _udpIn = new AutoDirection(auto.Udp, Given(forwards, "udp"), auto.Udp ? host("udp") : null);
        _tcpOut = new AutoDirection(auto.TcpNs, Given(namespaceForwards, "tcp"), auto.TcpNs ? inNamespace("tcp") : null);
        _udpOut = new AutoDirection(auto.UdpNs, Given(namespaceForwards, "udp"), auto.UdpNs ? inNamespace("udp") : null);
    }

    /// <summary>The ports -t, -u, -T and -U forward now.</summary>
    public (PortSet Tcp, PortSet Udp, PortSet TcpNs, PortSet UdpNs) Maps => (_tcpIn.Map, _udpIn.Map, _tcpOut.Map, _udpOut.Map);

    /// <summary>One scan now (the first, before the namespace is announced ready); nothing once disposed.</summary>
    public void Scan()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _tcpRead[0] = _tcpRead[1] = false;
            if (_tcpOut.IsAuto)
            {
                var next = _tcpOut.BeginScan();
                next.CopyFrom(TcpListening(inNamespace: false));
                next.ExceptWith(_tcpIn.Map);
                _tcpOut.Apply(_tcpIn.Map);
            }

            if (_tcpIn.IsAuto)
            {
                var next = _tcpIn.BeginScan();
                next.CopyFrom(TcpListening(inNamespace: true));
                next.ExceptWith(_tcpOut.Map);
                _tcpIn.Apply(_tcpOut.Map);
            }

            if (_udpOut.IsAuto)
            {
                var next = _udpOut.BeginScan();
                UdpBound(next, inNamespace: false);
                next.UnionWith(TcpListening(inNamespace: false));
                next.ExceptWith(_udpIn.Map);
                next.ExceptWith(_tcpIn.Map);
                _udpOut.Apply(_udpIn.Map);
            }

            if (_udpIn.IsAuto)
            {
                var next = _udpIn.BeginScan();
                UdpBound(next, inNamespace: true);
                next.UnionWith(TcpListening(inNamespace: true));
                next.ExceptWith(_udpOut.Map);
                next.ExceptWith(_tcpOut.Map);
                _udpIn.Apply(_udpOut.Map);
            }
        }
    }

    /// <summary>Scans every <paramref name="period"/> from now on, each scan timed from the end of the one before.</summary>
    public void Start(TimeSpan period)
    {
        lock (_gate)
        {
            if (_disposed || !(_tcpIn.IsAuto || _udpIn.IsAuto || _tcpOut.IsAuto || _udpOut.IsAuto))
            {
                return;
            }

            _period = period;
            _timer = new Timer(_ => Tick(), null, period, Timeout.InfiniteTimeSpan);
        }
    }

    private void Tick()
    {
        try
        {
            Scan();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A timer thread must not take the process down, whatever a scan met (a table that
            // went away, a socket refused, a state no test foresaw): what failed is tried again
            // next time, and the forwards already open keep working.
        }

        lock (_gate)
        {
            if (!_disposed)
            {
                _timer?.Change(_period, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>
    /// The TCP ports listening on one side, read once per scan: reading /proc/net/tcp walks the
    /// kernel's whole connection hash (milliseconds on a large host), and the UDP step may take the
    /// TCP step's reading, as what changed between them is ours (left out by map and inode).
    /// </summary>
    private PortSet TcpListening(bool inNamespace)
    {
        var side = inNamespace ? 1 : 0;
        var set = _tcpListening[side];
        if (!_tcpRead[side])
        {
            set.Clear();
            var v4 = _tables.Read(inNamespace, SocketTable.Tcp);
            var v6 = _tables.Read(inNamespace, SocketTable.Tcp6);
            var own = Own(inNamespace);
            ListeningSockets.Scan(v4, ListeningSockets.TcpListen, set, Nothing, own);
            ListeningSockets.Scan(v6, ListeningSockets.TcpListen, set, Nothing, own);
            _tcpRead[side] = true;
        }

        return set;
    }

    private void UdpBound(PortSet into, bool inNamespace)
    {
        var v4 = _tables.Read(inNamespace, SocketTable.Udp);
        var v6 = _tables.Read(inNamespace, SocketTable.Udp6);
        var own = Own(inNamespace);
        ListeningSockets.Scan(v4, ListeningSockets.UdpBound, into, Nothing, own);
        ListeningSockets.Scan(v6, ListeningSockets.UdpBound, into, Nothing, own);
    }

    /// <summary>Our own sockets, read after the host's tables so every socket of ours in them is known; none for the namespace's.</summary>
    private IReadOnlySet<ulong>? Own(bool inNamespace) => inNamespace ? null : _tables.OwnSockets();

    private static PortSet Given(IReadOnlyList<PortForward> forwards, string protocol)
    {
        var set = new PortSet();
        foreach (var f in forwards)
        {
            if (f.Protocol == protocol)
            {
                set.Add(f.HostPort);
            }
        }

        return set;
    }

    /// <summary>Stops the scans (a scan under way finishes first) and closes every socket auto opened.</summary>
    public void Dispose()
    {
        Timer? timer;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            timer = _timer;
            _tcpIn.ReleaseAll();
            _udpIn.ReleaseAll();
            _tcpOut.ReleaseAll();
            _udpOut.ReleaseAll();
        }

        timer?.Dispose();
    }
}
