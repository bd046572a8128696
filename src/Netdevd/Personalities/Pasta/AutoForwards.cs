using Netdevd.Personalities.Passt;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// pasta's auto port forwarding: every second, the listening sockets of the namespace (for -t/-u)
/// and of the host (for -T/-U) are read from /proc/net, and exactly those ports are forwarded
/// from the other side: new ones bound, gone ones closed. As pasta, UDP also takes the numbers of
/// bound TCP ports (iperf3 and the like), and a scan leaves out the ports forwarded the other way,
/// which are our own sockets there: forwarding them back would make a loop. The order is pasta's
/// (TCP before UDP, the host before the namespace), each table read just before its map is made,
/// so sockets opened or closed by the step before are seen as ours; other sockets of this process
/// on the host (the user netdev's UDP flows) are left out by inode. One timer, re-armed after
/// each scan; no thread of its own.
/// </summary>
internal sealed class AutoForwards : IDisposable
{
    private readonly IPortTables _tables;
    private readonly AutoDirection _tcpIn;
    private readonly AutoDirection _udpIn;
    private readonly AutoDirection _tcpOut;
    private readonly AutoDirection _udpOut;
    private readonly PortSet _exclude = new();
    /// <summary>Our own sockets on the host, read once per scan when a host step needs them.</summary>
    private IReadOnlySet<ulong>? _own;
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

            _own = null;
            if (_tcpOut.IsAuto)
            {
                ScanInto(_tcpOut.BeginScan(), inNamespace: false, udp: false, _tcpIn.Map);
                _tcpOut.Apply(_tcpIn.Map);
            }

            if (_tcpIn.IsAuto)
            {
                ScanInto(_tcpIn.BeginScan(), inNamespace: true, udp: false, _tcpOut.Map);
                _tcpIn.Apply(_tcpOut.Map);
            }

            if (_udpOut.IsAuto)
            {
                _exclude.CopyFrom(_udpIn.Map);
                _exclude.UnionWith(_tcpIn.Map);
                ScanInto(_udpOut.BeginScan(), inNamespace: false, udp: true, _exclude);
                _udpOut.Apply(_udpIn.Map);
            }

            if (_udpIn.IsAuto)
            {
                _exclude.CopyFrom(_udpOut.Map);
                _exclude.UnionWith(_tcpOut.Map);
                ScanInto(_udpIn.BeginScan(), inNamespace: true, udp: true, _exclude);
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
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            // A timer thread must not take the process down: what failed is tried again next time.
        }

        lock (_gate)
        {
            if (!_disposed)
            {
                _timer?.Change(_period, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void ScanInto(PortSet into, bool inNamespace, bool udp, PortSet exclude)
    {
        var own = inNamespace ? null : _own ??= _tables.OwnSockets();
        if (udp)
        {
            ListeningSockets.Scan(_tables.Read(inNamespace, SocketTable.Udp), ListeningSockets.UdpBound, into, exclude, own);
            ListeningSockets.Scan(_tables.Read(inNamespace, SocketTable.Udp6), ListeningSockets.UdpBound, into, exclude, own);
        }

        ListeningSockets.Scan(_tables.Read(inNamespace, SocketTable.Tcp), ListeningSockets.TcpListen, into, exclude, own);
        ListeningSockets.Scan(_tables.Read(inNamespace, SocketTable.Tcp6), ListeningSockets.TcpListen, into, exclude, own);
    }

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
