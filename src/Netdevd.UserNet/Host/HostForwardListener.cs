using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Netdevd.UserNet.Forwarding;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The host socket of one hostfwd rule: a TCP listener whose connections become connections to the
/// guest, or a UDP socket whose clients each get a flow. Bound at creation (so a port in use fails
/// the rule at once, as in QEMU) with SO_REUSEADDR like libslirp; an IPv6 host address binds an
/// IPv6-only socket (libslirp's SLIRP_HOSTFWD_V6ONLY), so <c>[::]:p</c> and <c>:p</c> can coexist.
/// The guest sees each client's own address (see <see cref="ForwardedClient"/>).
/// </summary>
internal sealed class HostForwardListener : IDisposable
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private readonly UserNetEngine _engine;
    private readonly Socket _socket;
    private readonly Dictionary<ForwardedClient.Key, UdpForwardFlow> _udpClients = [];
    private readonly Ipv4Address _guest;
    private readonly Ipv6Address _guest6;
    private volatile bool _closed;

    private HostForwardListener(UserNetEngine engine, HostForwardRule rule, Socket socket)
    {
        _engine = engine;
        Rule = rule;
        _socket = socket;
        _guest = SocketAddressBytes.FromIpAddress(rule.GuestAddress);
        _guest6 = rule.GuestIsIpv6 ? Ipv6Address.FromIPAddress(rule.GuestAddress) : default;
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        Info = new HostForwardInfo(rule.Text, rule.Protocol, bound.Address.ToString(), bound.Port, rule.GuestAddress.ToString(), rule.GuestPort);
    }

    public HostForwardRule Rule { get; }

    public HostForwardInfo Info { get; }

    /// <summary>Binds the rule's socket; throws SocketException when the address is taken or invalid.</summary>
    public static HostForwardListener Open(UserNetEngine engine, HostForwardRule rule)
    {
        if (rule.GuestIsIpv6 && rule.Udp)
        {
            // UDP forwards to an IPv6 guest address are not there yet: the rule cannot be set up.
            throw new SocketException((int)SocketError.AddressFamilyNotSupported);
        }

        var family = rule.HostAddress.AddressFamily;
        var socket = rule.Udp
            ? new Socket(family, SocketType.Dgram, ProtocolType.Udp)
            : new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (family == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            // SO_REUSEADDR alone, as libslirp: .NET's ReuseAddress also sets SO_REUSEPORT on Linux,
            // which would let a second rule bind a port already in use.
            Span<byte> one = [1, 0, 0, 0];
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, one);
            socket.Bind(new IPEndPoint(rule.HostAddress, rule.HostPort));
            if (!rule.Udp)
            {
                socket.Listen(16);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var listener = new HostForwardListener(engine, rule, socket);
        _ = rule.Udp ? listener.ReceiveLoopAsync() : listener.AcceptLoopAsync();
        return listener;
    }

    /// <summary>Matches a hostfwd-remove key: protocol, host address and the bound (or given) port.</summary>
    public bool Matches(bool udp, IPAddress hostAddress, int hostPort) =>
        Rule.Udp == udp && Rule.HostAddress.Equals(hostAddress) && (Info.HostPort == hostPort || Rule.HostPort == hostPort);

    private async Task AcceptLoopAsync()
    {
        while (!_closed)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException or OperationCanceledException)
            {
                if (_closed)
                {
                    return;
                }

                continue;
            }

            var endpoint = HostTcpEndpoint.Accepted(_engine, client);
            var peer = (IPEndPoint)client.RemoteEndPoint!;
            try
            {
                lock (_engine.Lock)
                {
                    var connection = _closed ? null : Rule.GuestIsIpv6
                        ? _engine.Stack.OpenForward6(_guest6, (ushort)Rule.GuestPort, ForwardedClient.Ipv6(peer.Address), (ushort)peer.Port, endpoint)
                        : _engine.Stack.OpenForward(_guest, (ushort)Rule.GuestPort, ForwardedClient.Ipv4(peer.Address), (ushort)peer.Port, endpoint);
                    if (connection is null)
                    {
                        client.Dispose();
                    }
                    else
                    {
                        endpoint.Attach(connection);
                        endpoint.Sync();
                    }
                }

                _engine.Flush();
            }
            catch (Exception e) when (_engine.ContainFault(e, this))
            {
                // This connection is dropped (counted on the netdev); the forward keeps accepting.
                client.Dispose();
            }
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(65536);
        var from = new SocketAddress(_socket.AddressFamily);
        try
        {
            while (!_closed)
            {
                int n;
                try
                {
                    n = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, from).ConfigureAwait(false);
                }
                catch (SocketException e) when (!_closed && e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
                {
                    continue;
                }

                try
                {
                    Deliver(from, buffer.AsSpan(0, n));
                    _engine.Flush();
                }
                catch (Exception e) when (_engine.ContainFault(e, this))
                {
                    // One bad datagram is dropped (counted on the netdev); the forward keeps receiving.
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException or OperationCanceledException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Deliver(SocketAddress from, ReadOnlySpan<byte> payload)
    {
        lock (_engine.Lock)
        {
            if (_closed)
            {
                return;
            }

            var key = ForwardedClient.KeyOf(from);
            if (!_udpClients.TryGetValue(key, out var flow) || flow.Closed)
            {
                var address = new SocketAddress(from.Family, from.Size);
                from.Buffer.Span.CopyTo(address.Buffer.Span);
                flow = _engine.Stack.OpenUdpForward(_guest, (ushort)Rule.GuestPort, ForwardedClient.Ipv4(from), ForwardedClient.Port(from),
                    new UdpClientState(this, address));
                if (flow is null)
                {
                    return;
                }

                _udpClients[key] = flow;
            }

            _engine.Stack.OnUdpForwardDatagram(flow, payload);
        }
    }

    /// <summary>The guest answered a client of this forward (under the engine lock).</summary>
    public void Reply(SocketAddress client, ReadOnlySpan<byte> payload)
    {
        if (_closed)
        {
            return;
        }

        try
        {
            _socket.SendTo(payload, SocketFlags.None, client);
        }
        catch (SocketException)
        {
        }
    }

    public void Dispose()
    {
        _closed = true;
        _socket.Dispose();
    }
}

/// <summary>A UDP forward flow's host side: the listener it came in on and the client's address.</summary>
internal sealed record UdpClientState(HostForwardListener Listener, SocketAddress Client);
