using System.Globalization;
using System.Text;
using Netdevd.Personalities.Passt;
using Netdevd.Personalities.Pasta;

namespace Netdevd.Daemon.Tests.Personalities;

/// <summary>
/// pasta's auto forwarding as netdevd scans it: ports that appear on one side are bound on the
/// other and closed when they go, ports we forward one way are never forwarded back (a loop),
/// UDP also takes bound TCP port numbers, a port that cannot be bound is tried again on the next
/// scan, and disposal closes everything auto opened. Tables and sockets are fakes: the side
/// effects are what the binders are asked to do.
/// </summary>
public sealed class AutoForwardsTests
{
    private readonly FakeTables _tables = new();
    private readonly Dictionary<string, FakeBinder> _binders = [];

    private AutoForwards Create(AutoPorts auto, IReadOnlyList<PortForward>? forwards = null, IReadOnlyList<PortForward>? nsForwards = null) =>
        new(_tables, auto, forwards ?? [], nsForwards ?? [],
            host: p => _binders[$"host-{p}"] = new FakeBinder(_tables, inNamespace: false, tcp: p == "tcp"),
            inNamespace: p => _binders[$"ns-{p}"] = new FakeBinder(_tables, inNamespace: true, tcp: p == "tcp"));

    [Fact]
    public void A_namespace_listener_is_forwarded_from_the_host_until_it_goes()
    {
        using var auto = Create(new AutoPorts(Tcp: true, Udp: false, TcpNs: false, UdpNs: false));
        auto.Scan();
        Assert.Empty(_binders["host-tcp"].Open);

        _tables.Listen(inNamespace: true, tcp: true, 8080);
        auto.Scan();
        Assert.Equal([8080], _binders["host-tcp"].Open);
        Assert.Equal([8080], auto.Maps.Tcp.ToList());

        // Still there: not bound again.
        auto.Scan();
        Assert.Equal(1, _binders["host-tcp"].Binds);

        _tables.Close(inNamespace: true, tcp: true, 8080);
        auto.Scan();
        Assert.Empty(_binders["host-tcp"].Open);
        Assert.Equal(0, auto.Maps.Tcp.Count);
    }

    [Fact]
    public void Our_own_sockets_on_either_side_are_not_forwarded_back()
    {
        // rootlesskit's implicit port driver: every option auto.
        using var auto = Create(new AutoPorts(true, true, true, true));
        _tables.Listen(inNamespace: true, tcp: true, 8080);
        _tables.Listen(inNamespace: false, tcp: true, 22);
        for (var i = 0; i < 3; i++)
        {
            auto.Scan();
        }

        // The namespace's 8080 is bound on the host (where the host scan sees it), the host's 22
        // in the namespace (where the namespace scan sees it): neither comes back the other way.
        Assert.Equal([8080], _binders["host-tcp"].Open);
        Assert.Equal([22], _binders["ns-tcp"].Open);
        Assert.Equal([8080], auto.Maps.Tcp.ToList());
        Assert.Equal([22], auto.Maps.TcpNs.ToList());

        // As pasta: UDP takes the TCP ports' numbers, each on its own side.
        Assert.Equal([8080], _binders["host-udp"].Open);
        Assert.Equal([22], _binders["ns-udp"].Open);

        // The namespace's server goes: closed on the host, and not picked up by the host scan on the way.
        _tables.Close(inNamespace: true, tcp: true, 8080);
        for (var i = 0; i < 3; i++)
        {
            auto.Scan();
        }

        Assert.Empty(_binders["host-tcp"].Open);
        Assert.Empty(_binders["host-udp"].Open);
        Assert.Equal([22], _binders["ns-tcp"].Open);
        Assert.Equal(0, _binders["ns-tcp"].Released(8080));
    }

    [Fact]
    public void The_host_sockets_of_this_process_are_not_forwarded()
    {
        // The user netdev's UDP flows are bound and unconnected on the host: they look like servers.
        using var auto = Create(new AutoPorts(false, false, false, true));
        _tables.Listen(inNamespace: false, tcp: false, 40000);
        _tables.Listen(inNamespace: false, tcp: false, 53);
        _tables.OwnPorts.Add(40000);
        auto.Scan();
        Assert.Equal([53], _binders["ns-udp"].Open);
    }

    [Fact]
    public void Given_ports_of_the_other_direction_are_kept_out_of_auto()
    {
        // -t 8080 given (its host socket listens on the host), -T auto: the host's 8080 is ours.
        var forwards = new List<PortForward> { new("tcp", null, 8080, 80) };
        using (var auto = Create(new AutoPorts(false, false, true, false), forwards))
        {
            _tables.Listen(inNamespace: false, tcp: true, 8080);
            _tables.Listen(inNamespace: false, tcp: true, 5432);
            auto.Scan();
            Assert.Equal([5432], _binders["ns-tcp"].Open);
            Assert.False(_binders.ContainsKey("host-tcp"));
        }

        // -T 9000 given, -t auto: the namespace's 9000 is our listener there.
        _binders.Clear();
        using var auto2 = Create(new AutoPorts(true, false, false, false), nsForwards: [new PortForward("tcp", null, 9000, 9000)]);
        _tables.Listen(inNamespace: true, tcp: true, 9000);
        _tables.Listen(inNamespace: true, tcp: true, 3000);
        auto2.Scan();
        Assert.Equal([3000], _binders["host-tcp"].Open);
    }

    [Fact]
    public void A_port_that_cannot_be_bound_is_tried_on_every_scan_until_it_can()
    {
        using var auto = Create(new AutoPorts(false, true, false, false));
        var host = _binders["host-udp"];
        host.Busy.Add(5353);
        _tables.Listen(inNamespace: true, tcp: false, 5353);
        auto.Scan();
        auto.Scan();
        Assert.Empty(host.Open);
        Assert.Equal(2, host.Attempts(5353));

        host.Busy.Clear();
        auto.Scan();
        Assert.Equal([5353], host.Open);
        auto.Scan();
        Assert.Equal(3, host.Attempts(5353));
    }

    [Fact]
    public void Options_not_auto_scan_nothing_and_dispose_closes_what_auto_opened()
    {
        using var auto = Create(new AutoPorts(true, false, true, false));
        _tables.Listen(inNamespace: true, tcp: true, 8080);
        _tables.Listen(inNamespace: true, tcp: false, 5353);
        _tables.Listen(inNamespace: false, tcp: true, 22);
        auto.Scan();
        Assert.False(_binders.ContainsKey("host-udp"));
        Assert.Equal([8080], _binders["host-tcp"].Open);
        Assert.Equal([22], _binders["ns-tcp"].Open);

        auto.Dispose();
        Assert.Empty(_binders["host-tcp"].Open);
        Assert.Empty(_binders["ns-tcp"].Open);

        // Disposed: a scan (a timer's last tick) does nothing.
        _tables.Listen(inNamespace: true, tcp: true, 8081);
        auto.Scan();
        Assert.Empty(_binders["host-tcp"].Open);
    }

    [Fact]
    public void The_timer_scans_again_by_itself()
    {
        using var auto = Create(new AutoPorts(true, false, false, false));
        auto.Start(TimeSpan.FromMilliseconds(10));
        _tables.Listen(inNamespace: true, tcp: true, 8080);
        var seen = false;
        for (var i = 0; i < 1000 && !seen; i++)
        {
            Thread.Sleep(10);
            seen = _binders.TryGetValue("host-tcp", out var b) && b.OpenNow(8080);
        }

        Assert.True(seen, "no scan by the timer");
    }

    /// <summary>Socket tables as lines, the listeners added and removed by the test and by the fake binders.</summary>
    private sealed class FakeTables : IPortTables
    {
        private readonly object _gate = new();
        private readonly HashSet<(bool Ns, bool Tcp, int Port)> _listeners = [];

        public void Listen(bool inNamespace, bool tcp, int port)
        {
            lock (_gate)
            {
                _listeners.Add((inNamespace, tcp, port));
            }
        }

        public void Close(bool inNamespace, bool tcp, int port)
        {
            lock (_gate)
            {
                _listeners.Remove((inNamespace, tcp, port));
            }
        }

        public ReadOnlySpan<byte> Read(bool inNamespace, SocketTable table)
        {
            var tcp = table is SocketTable.Tcp or SocketTable.Tcp6;
            var text = new StringBuilder("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
            if (table is SocketTable.Tcp or SocketTable.Udp)
            {
                lock (_gate)
                {
                    var i = 0;
                    foreach (var (ns, isTcp, port) in _listeners)
                    {
                        if (ns == inNamespace && isTcp == tcp)
                        {
                            text.Append(CultureInfo.InvariantCulture, $"{i++,4}: 00000000:{port:X4} 00000000:0000 {(tcp ? "0A" : "07")} 00000000:00000000 00:00000000 00000000     0        0 {Inode(port)} 1\n");
                        }
                    }
                }
            }

            return Encoding.ASCII.GetBytes(text.ToString());
        }

        /// <summary>Ports whose host sockets are this process's own (by the inode the fake gives each port).</summary>
        public HashSet<int> OwnPorts { get; } = [];

        public IReadOnlySet<ulong> OwnSockets() => OwnPorts.Select(Inode).ToHashSet();

        private static ulong Inode(int port) => 100000UL + (ulong)port;
    }

    /// <summary>Binds by adding a listener to the fake tables on its side, as a real socket shows in /proc/net.</summary>
    private sealed class FakeBinder(FakeTables tables, bool inNamespace, bool tcp) : IPortBinder
    {
        private readonly object _gate = new();
        private readonly SortedSet<int> _open = [];
        private readonly Dictionary<int, int> _attempts = [];
        private readonly Dictionary<int, int> _released = [];

        public HashSet<int> Busy { get; } = [];

        public int Binds { get; private set; }

        public List<int> Open
        {
            get
            {
                lock (_gate)
                {
                    return [.. _open];
                }
            }
        }

        public bool OpenNow(int port)
        {
            lock (_gate)
            {
                return _open.Contains(port);
            }
        }

        public int Attempts(int port) => _attempts.GetValueOrDefault(port);

        public int Released(int port) => _released.GetValueOrDefault(port);

        public IReadOnlyCollection<int> Bind(IReadOnlyList<int> ports)
        {
            var done = new List<int>();
            foreach (var port in ports)
            {
                _attempts[port] = Attempts(port) + 1;
                if (Busy.Contains(port))
                {
                    continue;
                }

                Binds++;
                lock (_gate)
                {
                    _open.Add(port);
                }

                tables.Listen(inNamespace, tcp, port);
                done.Add(port);
            }

            return done;
        }

        public void Release(IReadOnlyList<int> ports)
        {
            foreach (var port in ports)
            {
                _released[port] = Released(port) + 1;
                lock (_gate)
                {
                    if (_open.Remove(port))
                    {
                        tables.Close(inNamespace, tcp, port);
                    }
                }
            }
        }
    }
}
