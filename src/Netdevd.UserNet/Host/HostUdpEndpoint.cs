using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The host socket of one UDP flow: bound to an ephemeral port, sends with non-blocking sendto
/// (a full socket buffer drops the datagram, as a real network may), receives in one async loop
/// into one pooled buffer, with the sender's address read in place. An IPv6 flow's socket is
/// AF_INET6 (IPv6-only).
/// </summary>
internal sealed class HostUdpEndpoint
{
    private const int BufferSize = 65536;
    private readonly UserNetEngine _engine;
    private readonly UdpFlow _flow;
    private readonly Socket _socket;
    private readonly SocketAddress _destination;
    private volatile bool _closed;

    private HostUdpEndpoint(UserNetEngine engine, UdpFlow flow, Socket socket)
    {
        _engine = engine;
        _flow = flow;
        _socket = socket;
        _destination = new SocketAddress(socket.AddressFamily);
    }

    public static HostUdpEndpoint Open(UserNetEngine engine, UdpFlow flow)
    {
        var family = flow.IsIpv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
        try
        {
            if (flow.IsIpv6)
            {
                socket.DualMode = false;
            }

            socket.Bind(new IPEndPoint(flow.IsIpv6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var endpoint = new HostUdpEndpoint(engine, flow, socket);
        _ = endpoint.ReceiveLoopAsync();
        return endpoint;
    }

    public void Send(Ipv4Address destination, ushort port, ReadOnlySpan<byte> payload)
    {
        SocketAddressBytes.Write(_destination, destination, port);
        try
        {
            _socket.SendTo(payload, SocketFlags.None, _destination);
        }
        catch (SocketException)
        {
            // EAGAIN, unreachable, ...: a lost datagram, which UDP allows.
        }
    }

    public void Send6(Ipv6Address destination, ushort port, ReadOnlySpan<byte> payload)
    {
        SocketAddressBytes.Write6(_destination, destination, port);
        try
        {
            _socket.SendTo(payload, SocketFlags.None, _destination);
        }
        catch (SocketException)
        {
            // EAGAIN, unreachable, ...: a lost datagram, which UDP allows.
        }
    }

    public void Close()
    {
        _closed = true;
        _socket.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
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
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
                {
                    continue; // an ICMP error for an earlier datagram
                }

                try
                {
                    lock (_engine.Lock)
                    {
                        if (_closed)
                        {
                            break;
                        }

                        if (_flow.IsIpv6)
                        {
                            _engine.Stack.OnUdp6Received(_flow, SocketAddressBytes.Address6(from), SocketAddressBytes.Port(from), buffer.AsSpan(0, n));
                        }
                        else
                        {
                            _engine.Stack.OnUdpReceived(_flow, SocketAddressBytes.Address(from), SocketAddressBytes.Port(from), buffer.AsSpan(0, n));
                        }
                    }

                    _engine.Flush();
                }
                catch (Exception e) when (_engine.ContainFault(e, this))
                {
                    // One bad datagram is dropped (counted on the netdev); the flow keeps receiving.
                }
            }
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException) when (_closed)
        {
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
