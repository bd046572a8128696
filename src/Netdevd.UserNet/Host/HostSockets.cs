using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Native;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>The real host side of the NAT: one socket per TCP and UDP flow, ICMP sockets for echo.</summary>
internal sealed class HostSockets(UserNetEngine engine) : INatHost, IIcmpv6Host, IDisposable
{
    private readonly Dictionary<HostTarget.Device, GuestForwardDevice> _devices = new(ReferenceEqualityComparer.Instance);
    private IcmpSockets? _icmp;
    private Icmpv6Sockets? _icmp6;

    /// <summary>
    /// The UDP socket errors logged so far, by family and text. A guest opens a flow for each new
    /// destination port, so a host that refuses them all (no IPv6, no descriptors left) would log
    /// a line per datagram the guest sends: each error is said once, and every failure is counted
    /// (the stack's HostSocketFailed drops), as the datagram netdevs do with theirs.
    /// </summary>
    private readonly HashSet<(bool Ipv6, string Message)> _udpErrorsLogged = [];

    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>Takes over the opened chardev of a guestfwd rule (before any traffic).</summary>
    public void AddDevice(HostTarget.Device target, GuestForwardDevice device)
    {
        device.ContainFault = engine.ContainFault;
        _devices.Add(target, device);
    }

    public void OpenTcp(TcpConnection connection, HostTarget target, byte ttl)
    {
        var endpoint = new HostTcpEndpoint(engine);
        connection.HostState = endpoint;
        if (target is HostTarget.Device device)
        {
            endpoint.UseConnected(connection, _devices.TryGetValue(device, out var open) ? open.Attach() : null);
            return;
        }

        endpoint.Connect(connection, target, ttl);
    }

    public void SyncTcp(TcpConnection connection) => connection.HostState?.Sync();

    public void CloseTcp(TcpConnection connection)
    {
        if (connection.HostState is { } endpoint)
        {
            endpoint.Close(); // disposes the connection too
        }
        else
        {
            connection.Dispose();
        }
    }

    public int OpenUdp(UdpFlow flow)
    {
        try
        {
            flow.HostState = HostUdpEndpoint.Open(engine, flow);
            return 0;
        }
        catch (IOException e)
        {
            if (_udpErrorsLogged.Count < 16 && _udpErrorsLogged.Add((flow.IsIpv6, e.Message)))
            {
                Logger.LogWarning(
                    "user netdev: cannot open an {Family} UDP socket: {Message}; further failures with this error are counted, not logged",
                    flow.IsIpv6 ? "IPv6" : "IPv4",
                    e.Message);
            }

            return e.HResult > 0 ? e.HResult : Errno.EIO;
        }
    }

    public bool SendUdp(UdpFlow flow, Ipv4Address destination, ushort port, ReadOnlySpan<byte> payload, byte ttl) =>
        (flow.HostState as HostUdpEndpoint)?.Send(destination, port, payload, ttl) ?? true;

    public bool SendUdp6(UdpFlow flow, Ipv6Address destination, ushort port, ReadOnlySpan<byte> payload, byte hopLimit) =>
        (flow.HostState as HostUdpEndpoint)?.Send6(destination, port, payload, hopLimit) ?? true;

    public void CloseUdp(UdpFlow flow) => (flow.HostState as HostUdpEndpoint)?.Close();

    public bool OpenIcmp(IcmpFlow flow)
    {
        _icmp ??= new IcmpSockets(engine, Logger);
        return _icmp.Open(flow);
    }

    public bool SendIcmp(IcmpFlow flow, ReadOnlySpan<byte> icmp, byte ttl) => _icmp?.Send(flow, icmp, ttl) ?? true;

    public void CloseIcmp(IcmpFlow flow) => _icmp?.Close(flow);

    bool IIcmpv6Host.Open(Icmpv6Flow flow)
    {
        _icmp6 ??= new Icmpv6Sockets(engine, Logger);
        return _icmp6.Open(flow);
    }

    bool IIcmpv6Host.Send(Icmpv6Flow flow, ReadOnlySpan<byte> icmp, byte hopLimit) => _icmp6?.Send(flow, icmp, hopLimit) ?? true;

    void IIcmpv6Host.Close(Icmpv6Flow flow) => _icmp6?.Close(flow);

    public void Dispose()
    {
        _icmp?.Dispose();
        _icmp6?.Dispose();
        foreach (var device in _devices.Values)
        {
            device.Dispose();
        }

        _devices.Clear();
    }
}
