using Microsoft.Extensions.Logging;
using Netdevd.Core.Clients;
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
/// with are sent after <see cref="Receive"/> returns, from a pool thread (NetClient forbids sending
/// from inside Receive). Frames caused by host sockets are sent on the completing thread.
/// </remarks>
public sealed class UserNetClient : NetClient, IHostForwards, IGuestPort
{
    private readonly UserNetEngine _engine;
    private readonly UserStackOptions _options;
    private readonly DnsUpstream? _dnsUpstream;
    private readonly List<HostForwardListener> _forwards = [];
    private readonly ILogger _logger;

    private UserNetClient(string name, UserNetConfig config, UserStackOptions options, TimeProvider time, ILogger logger)
        : base(name, NetClientDriver.User)
    {
        _options = options;
        _logger = logger;
        Info = config.InfoString;
        var arp = new ArpTable(options.Network, options.Netmask);
        var dhcp = new DhcpServer(config, time, arp);
        // The system reads a path up to its first NUL (a QMP string may hold one); an empty
        // root serves nothing (libslirp would serve from '/').
        var tftpRoot = config.TftpRoot is { } given && given.IndexOf('\0', StringComparison.Ordinal) is var nul && nul >= 0 ? given[..nul] : config.TftpRoot;
        TftpServer? tftp = tftpRoot is { Length: > 0 } root ? new TftpServer(new DirectoryTftpFileSource(root), time) : null;
        _engine = new UserNetEngine(options, this, time, (engine, sink) => new UserStack(options, sink, time, dhcp, tftp, arp, engine.Budget));
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
        if (!options.Restrict)
        {
            _dnsUpstream = new DnsUpstream(_engine);
            _engine.Stack.Dns = new DnsForwarder(ResolvConf.Read(config.ResolvConfPath), _dnsUpstream, time);
        }
    }

    /// <summary>The stack's counters (flows opened, drops by reason).</summary>
    public Interface.StackCounters Counters => _engine.Stack.Counters;

    /// <summary>
    /// Builds a user netdev from a validated configuration: guestfwd rules, then hostfwd rules (each
    /// list in reverse, as QEMU applies them); the first failing rule fails the whole netdev.
    /// </summary>
    public static UserNetClient Create(string name, UserNetConfig config, TimeProvider time, ILogger logger, NatLimits? limits = null)
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
            Limits = limits ?? new NatLimits(),
        };
        options = Ipv6Options.Apply(config, options);
        // Each rule is checked and its device opened before the next, so the first failing rule
        // is the one reported, as in QEMU.
        var guestForwards = new List<GuestForwardRule>();
        var devices = new List<(HostTarget.Device Target, GuestForwardDevice Device)>();
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

            options = options with { GuestForwards = guestForwards };
            client = new UserNetClient(name, config, options, time, logger);
        }
        catch
        {
            foreach (var (_, device) in devices)
            {
                device.Dispose();
            }

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

    public IReadOnlyList<HostForwardInfo> HostForwards
    {
        get
        {
            lock (_forwards)
            {
                var list = new List<HostForwardInfo>(_forwards.Count);
                foreach (var f in _forwards)
                {
                    list.Add(f.Info);
                }

                return list;
            }
        }
    }

    public HostForwardInfo AddHostForward(string rule)
    {
        var parsed = HostForwardParser.Parse(rule, _options.DhcpStart);
        HostForwardListener listener;
        try
        {
            listener = HostForwardListener.Open(_engine, parsed);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            if (_logger.IsEnabled(LogLevel.Information))
            {
                _logger.LogInformation("hostfwd {Rule}: {Message}", rule, e.Message);
            }

            throw new QapiException($"Could not set up host forwarding rule '{rule}'");
        }

        lock (_forwards)
        {
            _forwards.Add(listener);
        }

        return listener.Info;
    }

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

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        lock (_engine.Lock)
        {
            if (InSendBatch)
            {
                _engine.Stack.BeginInputBatch();
            }

            _engine.Stack.Input(frame);
            _engine.ArmTimer();
        }

        // Receive may not call Send. Inside a sender's batch the replies go out when the batch
        // ends, on the sender's thread (no thread hop, one pass for the whole batch); otherwise a
        // pool thread sends them.
        if (!InSendBatch)
        {
            _engine.ScheduleFlush();
        }

        return ReceiveResult.Accepted;
    }

    protected override void OnBatchEnd()
    {
        lock (_engine.Lock)
        {
            _engine.Stack.EndInputBatch();
        }

        _engine.Flush();
    }

    void IGuestPort.Deliver(ReadOnlySpan<byte> frame) => Send(frame);

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
            foreach (var f in _forwards)
            {
                f.Dispose();
            }

            _forwards.Clear();
        }

        _dnsUpstream?.Dispose();
        _engine.Dispose();
    }
}
