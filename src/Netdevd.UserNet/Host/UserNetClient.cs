using Microsoft.Extensions.Logging;
using Netdevd.Core.Clients;
using Netdevd.Core.UserNetworks;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Forwarding;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Services;
using Netdevd.UserNet.Services.Dns;
using Netdevd.UserNet.Services.Tftp;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The <c>user</c> netdev (QEMU's SlirpState): a <see cref="UserStack"/> behind a NetClient, with
/// real host sockets, the DNS proxy's upstream socket and the host forwards.
/// </summary>
/// <remarks>
/// Frames from the peer are processed at once under the engine lock; the frames the stack answers
/// with are sent after <see cref="Receive"/> returns, from the netdev's I/O thread (NetClient forbids sending
/// from inside Receive). Frames caused by host sockets are sent on the completing thread.
/// </remarks>
public sealed class UserNetClient : NetClient, IUserNetwork, IGuestPort
{
    // A frame sent in pieces made whole again, for a link that lost its virtio-net headers (rare: made on first need).
    private byte[]? _wholeFrame;

    private readonly UserNetEngine _engine;
    private readonly UserStackOptions _options;
    private readonly DnsUpstream? _dnsUpstream;
    private readonly DhcpServer _dhcp;
    private readonly TimeProvider _time;
    private SmbServer? _smb;
    private readonly List<HostForwardListener> _forwards = [];
    private readonly ILogger _logger;

    /// <summary>Set under the <c>_forwards</c> lock when the netdev closes: no forward may be added after.</summary>
    private bool _forwardsClosed;

    private UserNetClient(string name, UserNetConfig config, UserStackOptions options, TimeProvider time, ILogger logger, IHostIoThread? ioThread)
        : base(name, NetClientDriver.User)
    {
        _options = options;
        _logger = logger;
        Info = config.InfoString;
        var arp = new ArpTable(options.Network, options.Netmask);
        var dhcp = new DhcpServer(config, time, arp);
        _dhcp = dhcp;
        _time = time;
        // The system reads a path up to its first NUL (a QMP string may hold one); an empty
        // root serves nothing (libslirp would serve from '/').
        var tftpRoot = config.TftpRoot is { } given && given.IndexOf('\0', StringComparison.Ordinal) is var nul && nul >= 0 ? given[..nul] : config.TftpRoot;
        TftpServer? tftp = tftpRoot is { Length: > 0 } root ? new TftpServer(new DirectoryTftpFileSource(root), time) : null;
        _engine = new UserNetEngine(options, this, time, (engine, sink) => new UserStack(options, sink, time, dhcp, tftp, arp, engine.Budget), ioThread);
        _engine.Budget.FirstRefusal = () => logger.LogWarning(
            "netdev {Name}: user memory limit of {Limit} bytes reached; new flows get small buffers or are refused until others close",
            name, _engine.Budget.Limit);
        _engine.Host.Logger = logger;
        _engine.Stack.SetUdpForwardReply(static (flow, payload) =>
        {
            if (flow.HostState is UdpClientState state)
            {
                state.Listener.Reply(state.Client, payload);
            }
        });
        _engine.Stack.SetUdpForwardClosed(static flow =>
        {
            if (flow.HostState is UdpClientState state)
            {
                state.Listener.Forget(state.Key, flow);
            }
        });
        if (!options.Restrict)
        {
            _dnsUpstream = new DnsUpstream(_engine);
            var hosts = config.DnsHosts.Count == 0 ? null : new DnsHostRecords(
                config.DnsHosts,
                config.Ipv4Enabled ? System.Net.IPAddress.Parse(config.Host.ToString()) : null,
                config.Ipv6Enabled ? VirtualHostV6(config) : null);
            _engine.Stack.Dns = new DnsForwarder(new ResolvConfWatcher(config.ResolvConfPath), _dnsUpstream, time, hosts: hosts, budget: _engine.Budget);
        }
    }

    /// <summary>ipv6-host, or the prefix with its last byte or'ed with 2 (QEMU's default, fec0::2).</summary>
    private static System.Net.IPAddress VirtualHostV6(UserNetConfig config)
    {
        if (config.Ipv6Host is { } given)
        {
            return System.Net.IPAddress.Parse(given);
        }

        var bytes = System.Net.IPAddress.Parse(config.Ipv6Prefix ?? "fec0::").GetAddressBytes();
        bytes[15] |= 2;
        return new System.Net.IPAddress(bytes);
    }

    /// <summary>
    /// Where the TCP forwards hand connections from a client on the host's loopback before
    /// opening them towards the guest (pasta's splice to its namespace's loopback); null: none.
    /// The netdev disposes it (if disposable) when it closes: its connections end with the netdev.
    /// </summary>
    public ILoopbackSplice? LoopbackSplice
    {
        get => _engine.LoopbackSplice;
        set
        {
            lock (_engine.Lock)
            {
                _engine.LoopbackSplice = value;
            }
        }
    }

    /// <summary>The stack's counters (flows opened, drops by reason).</summary>
    public Interface.StackCounters Counters => _engine.Stack.Counters;

    /// <summary>
    /// Builds a user netdev from a validated configuration: guestfwd rules, then hostfwd rules (each
    /// list in reverse, as QEMU applies them); the first failing rule fails the whole netdev.
    /// </summary>
    /// <param name="ioThread">Where the host sockets are polled; null: a thread of the netdev's own.</param>
    public static UserNetClient Create(string name, UserNetConfig config, TimeProvider time, ILogger logger, NatLimits? limits = null, IHostIoThread? ioThread = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var options = new UserStackOptions
        {
            Network = config.Network,
            Netmask = config.Netmask,
            Host = config.Host,
            Dns = config.Dns,
            DhcpStart = config.DhcpStart,
            Restrict = config.Restrict,
            HostLoopback = config.HostLoopback,
            HostAlias = config.HostAlias,
            GuestMtu = config.Mtu ?? UserStack.GuestLinkMtu,
            Limits = limits ?? new NatLimits(),
        };
        options = Ipv6Options.Apply(config, options);
        // Each rule is checked and its device opened before the next, so the first failing rule
        // is the one reported, as in QEMU.
        var guestForwards = new List<GuestForwardRule>();
        var devices = new List<(HostTarget.Device Target, GuestForwardDevice Device)>();
        SmbServer? smb = null;
        UserNetClient client;
        try
        {
            for (var i = config.GuestForwards.Count - 1; i >= 0; i--)
            {
                var rule = GuestForwardParser.Parse(config.GuestForwards[i], options, guestForwards);
                if (rule.Target is HostTarget.Device target)
                {
                    devices.Add((target, GuestForwardDevice.Open(target)));
                }

                guestForwards.Add(rule);
            }

            if (config.SmbExport is { } export)
            {
                smb = SmbServer.Create(export, config.SmbdPath);
                AddSmbForwards(smb, config.SmbServer, options, guestForwards);
            }

            options = options with { GuestForwards = guestForwards };
            client = new UserNetClient(name, config, options, time, logger, ioThread) { _smb = smb };
        }
        catch
        {
            foreach (var (_, device) in devices)
            {
                device.Dispose();
            }

            smb?.Dispose();
            throw;
        }

        foreach (var (target, device) in devices)
        {
            client._engine.Host.AddDevice(target, device);
        }

        try
        {
            for (var i = config.HostForwards.Count - 1; i >= 0; i--)
            {
                client.AddHostForward(config.HostForwards[i]);
            }
        }
        catch
        {
            client.Shutdown();
            throw;
        }

        return client;
    }

    /// <summary>
    /// The guest's connections to smbserver:139 and :445 go to <paramref name="smb"/> (libslirp's
    /// slirp_add_exec: no address means x.x.2.4; the address must be in the network, not the host
    /// or DNS address, and its ports not taken by a guestfwd).
    /// </summary>
    private static void AddSmbForwards(SmbServer smb, Ipv4Address? given, UserStackOptions network, List<GuestForwardRule> rules)
    {
        var server = given is { IsAny: false } address ? address : new Ipv4Address(network.Network.Value | (0x0204u & ~network.Netmask.Value));
        foreach (ushort port in (ReadOnlySpan<ushort>)[139, 445])
        {
            var conflict = !server.IsInNetwork(network.Network, network.Netmask) || server == network.Host || server == network.Dns;
            foreach (var rule in rules)
            {
                conflict |= rule.Server == server && rule.Port == port;
            }

            if (conflict)
            {
                throw QapiErrors.Generic("Conflicting/invalid smbserver address");
            }

            rules.Add(new GuestForwardRule($"smb:{server}:{port}", server, port, new HostTarget.Service(smb)));
        }
    }

    public IReadOnlyList<HostFwdInfo> HostForwards
    {
        get
        {
            lock (_forwards)
            {
                var list = new List<HostFwdInfo>(_forwards.Count);
                foreach (var f in _forwards)
                {
                    list.Add(ToQapi(f.Info));
                }

                return list;
            }
        }
    }

    /// <summary>
    /// The UDP forwards' clients the listeners keep a flow for, and the forward flows the stack
    /// holds (for tests: the listeners' tables must not outgrow the stack's).
    /// </summary>
    internal (int ListenerClients, int StackFlows) UdpForwardClients
    {
        get
        {
            lock (_forwards)
            {
                lock (_engine.Lock)
                {
                    var clients = 0;
                    foreach (var f in _forwards)
                    {
                        clients += f.UdpClientCount;
                    }

                    return (clients, _engine.Stack.UdpForwardFlowCount);
                }
            }
        }
    }

    public HostFwdInfo AddHostForward(string rule)
    {
        var parsed = HostForwardParser.Parse(rule, _options.DhcpStart);
        HostForwardListener listener;

        // Opened and listed under one lock that closing the netdev takes too: a rule added while
        // the netdev is being deleted (hostfwd-add from one monitor, netdev_del from another, or
        // a caller holding the netdev) either lands in the list that closing empties, or is
        // refused, as it would have been a moment later. Else its socket stayed bound for good,
        // or registered with the closed engine's epoll descriptor, whose number may be reused.
        lock (_forwards)
        {
            if (_forwardsClosed)
            {
                throw QapiErrors.DeviceNotFound(Name);
            }

            try
            {
                listener = HostForwardListener.Open(_engine, parsed);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                // Debug: the caller gets the error, and pasta's auto forwarding retries a port in use every second.
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    _logger.LogDebug("hostfwd {Rule}: {Message}", rule, e.Message);
                }

                throw new QapiException($"Could not set up host forwarding rule '{rule}'");
            }

            _forwards.Add(listener);
        }

        return ToQapi(listener.Info);
    }

    public UsernetInfo QueryState()
    {
        var flows = new List<UsernetFlowInfo>();
        var leases = new List<DhcpLease>();
        var bindings = new List<Dhcpv6Binding>();
        UsernetCounters counters;
        lock (_engine.Lock)
        {
            _engine.Stack.CollectFlows(flows);
            _dhcp.CopyLeases(leases);
            _engine.Stack.CopyDhcpv6Bindings(bindings);
            counters = _engine.Stack.QueryCounters();
        }

        var now = _time.GetUtcNow();
        var leaseInfos = new List<UsernetLeaseInfo>(leases.Count);
        foreach (var l in leases)
        {
            leaseInfos.Add(new UsernetLeaseInfo
            {
                Macaddr = l.Mac.ToString(),
                Ip = l.Address.ToString(),
                ExpiresIn = (long)Math.Max(0, (l.Expires - now).TotalSeconds),
            });
        }

        foreach (var b in bindings)
        {
            // Infinite lifetimes: RFC 8415's infinity, as the client saw it.
            leaseInfos.Add(new UsernetLeaseInfo { Macaddr = b.Mac.ToString(), Ip = b.Address.ToString(), ExpiresIn = uint.MaxValue });
        }

        return new UsernetInfo { Netdev = Name, Flows = flows, Leases = leaseInfos, Counters = counters };
    }

    private static HostFwdInfo ToQapi(HostForwardInfo f) => new()
    {
        Rule = f.Rule,
        Protocol = f.Protocol,
        HostAddr = f.HostAddress,
        HostPort = f.HostPort,
        GuestAddr = f.GuestAddress,
        GuestPort = f.GuestPort,
    };

    public bool RemoveHostForward(string key)
    {
        var (udp, address, port) = HostForwardParser.ParseKey(key);
        HostForwardListener? found = null;
        lock (_forwards)
        {
            foreach (var f in _forwards)
            {
                if (f.Matches(udp, address, port))
                {
                    found = f;
                    break;
                }
            }

            if (found is not null)
            {
                _forwards.Remove(found);
            }
        }

        found?.Dispose();
        return found is not null;
    }

    /// <summary>
    /// The user netdev speaks virtio-net headers (as passt's vhost-user and QEMU's virtio peers):
    /// towards a tap or virtio peer that keeps them, TCP segments leave with their checksum to be
    /// done (NEEDS_CSUM, the pseudo-header sum in the field), and segments that arrive with
    /// NEEDS_CSUM, DATA_VALID or as GSO super-frames are taken without verifying a checksum the
    /// sender never computed, as a NIC's driver does.
    /// </summary>
    public override bool HasVnetHeader => true;

    protected override void OnVnetHeaderChanged()
    {
        // A frame queued before the change and delivered after it is completed in Deliver.
        _engine.Stack.ChecksumOffload = UsingVnetHeader;
    }

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        var verified = false;
        if (UsingVnetHeader)
        {
            if (frame.Length < VnetHeaderSize)
            {
                lock (_engine.Lock)
                {
                    _engine.Stack.Counters.Drop(Interface.FrameDropReason.Malformed);
                }

                return ReceiveResult.Accepted;
            }

            // NEEDS_CSUM: the checksum was never computed (the kernel's CHECKSUM_PARTIAL), a GSO
            // super-frame always comes so; DATA_VALID: it was verified. Either way nothing on the
            // way from the guest can have damaged it. GSO frames are taken as one large segment
            // (their IP lengths cover the whole super-frame, as the stack accepts at a 64 KiB MTU).
            var header = VirtioNetHeader.Read(frame);
            if (header.IsGso && header.GsoKind is not (VirtioNetHeader.GsoTcpV4 or VirtioNetHeader.GsoTcpV6))
            {
                // UDP segmentation (UFO, USO) would be one datagram here instead of many; the tap
                // never offers it, another peer's is refused and counted.
                lock (_engine.Lock)
                {
                    _engine.Stack.Counters.Drop(Interface.FrameDropReason.UnsupportedProtocol);
                }

                return ReceiveResult.Accepted;
            }

            verified = (header.Flags & (VirtioNetHeader.FlagNeedsCsum | VirtioNetHeader.FlagDataValid)) != 0;
            frame = frame[VnetHeaderSize..];
        }

        lock (_engine.Lock)
        {
            if (InSendBatch)
            {
                _engine.Stack.BeginInputBatch();
            }

            _engine.Stack.Input(frame, verified);
            if (InSendBatch)
            {
                // OnBatchEnd runs what is left and arms the timer for the whole batch.
                _engine.RunHostWorkInBatch();
            }
            else
            {
                _engine.RunHostWork();
            }
        }

        // Receive may not call Send. Inside a sender's batch the replies go out when the batch
        // ends, on the sender's thread (no thread hop, one pass for the whole batch); otherwise the
        // netdev's I/O thread sends them.
        if (!InSendBatch)
        {
            _engine.ScheduleFlush();
        }

        return ReceiveResult.Accepted;
    }

    /// <summary>The client's own objects, then the engine's: its lock, the stack and the queue a reply waits in.</summary>
    public override bool CollectHot(HotObjects hot)
    {
        if (!base.CollectHot(hot))
        {
            return false;
        }

        _engine.CollectHot(hot);
        return true;
    }

    protected override void OnBatchEnd()
    {
        lock (_engine.Lock)
        {
            _engine.Stack.EndInputBatch();
            _engine.RunHostWorkAtBatchEnd();
        }

        _engine.Flush();

        // The timer for the batch's deadlines is armed once its answers are out: the answer to a
        // ping of the gateway does not wait for the visit of every service that may have one.
        lock (_engine.Lock)
        {
            _engine.ArmTimer();
        }

        // After the answers: the host's replies to this batch are best read by this thread.
        _engine.FollowGuestThread();
    }

    void IGuestPort.Deliver(Span<byte> buffer, int length, GuestChecksum checksum)
    {
        const int headroom = GuestOutputQueue.Headroom;
        if (UsingVnetHeader)
        {
            WriteVnetHeader(buffer[..headroom], checksum);
            Send(buffer[..(headroom + length)]);
            return;
        }

        var frame = buffer.Slice(headroom, length);
        if (checksum.IsPartial)
        {
            // Built while the link still carried headers: the peer now needs the whole checksum.
            var value = Checksum.Finish(Checksum.Add(0, frame[checksum.Start..]));
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame[(checksum.Start + checksum.Offset)..], value);
        }

        Send(frame);
    }

    void IGuestPort.DeliverGather(Span<byte> buffer, int headLength, GuestChecksum checksum, ArraySegment<byte> body1, ArraySegment<byte> body2)
    {
        const int headroom = GuestOutputQueue.Headroom;
        if (UsingVnetHeader)
        {
            WriteVnetHeader(buffer[..headroom], checksum);
            SendGather(buffer[..(headroom + headLength)], body1, body2);
            return;
        }

        // The link lost its headers after the frame was built (a new peer): the pieces are joined
        // behind the headroom and go as a whole frame does, its checksum completed there.
        var whole = _wholeFrame ??= new byte[headroom + MaxFrameSize];
        buffer.Slice(headroom, headLength).CopyTo(whole.AsSpan(headroom));
        body1.AsSpan().CopyTo(whole.AsSpan(headroom + headLength));
        body2.AsSpan().CopyTo(whole.AsSpan(headroom + headLength + body1.Count));
        ((IGuestPort)this).Deliver(whole, headLength + body1.Count + body2.Count, checksum);
    }

    /// <summary>The virtio-net header of a frame for the peer: NEEDS_CSUM for a partial checksum, else nothing asked.</summary>
    private static void WriteVnetHeader(Span<byte> header, GuestChecksum checksum)
    {
        if (checksum.IsPartial)
        {
            new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoNone, 0, 0, checksum.Start, checksum.Offset).Write(header);
            header[VirtioNetHeader.BaseSize..].Clear();
        }
        else
        {
            header.Clear();
        }
    }

    void IGuestPort.BeginBatch() => BeginSendBatch();

    void IGuestPort.EndBatch() => SendBatchEnd();

    protected override ValueTask CloseAsync()
    {
        Shutdown();
        return ValueTask.CompletedTask;
    }

    private void Shutdown()
    {
        lock (_forwards)
        {
            _forwardsClosed = true;
            foreach (var f in _forwards)
            {
                f.Dispose();
            }

            _forwards.Clear();
        }

        _dnsUpstream?.Dispose();
        _engine.Dispose();
        _smb?.Dispose();

        // After the engine: its thread offers no more connections.
        (_engine.LoopbackSplice as IDisposable)?.Dispose();
    }
}
