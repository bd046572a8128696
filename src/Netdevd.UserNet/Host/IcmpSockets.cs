using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// Echo requests to the outside: an unprivileged ICMP datagram socket per flow where
/// net.ipv4.ping_group_range allows it (the kernel then owns the identifier), else one shared raw
/// socket (root or CAP_NET_RAW; replies are matched by source and identifier), else nothing, said
/// once in the log.
/// </summary>
internal sealed class IcmpSockets(UserNetEngine engine, ILogger logger) : IDisposable
{
    private const int BufferSize = 65536;
    private readonly Dictionary<(Ipv4Address, ushort), IcmpFlow> _rawFlows = [];
    private Socket? _raw;
    private bool? _dgramAllowed;
    private bool _unavailable;
    private bool _disposed;

    public bool Open(IcmpFlow flow)
    {
        if (_unavailable)
        {
            return false;
        }

        if (_dgramAllowed != false)
        {
            try
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Icmp) { Blocking = false };
                _dgramAllowed = true;
                flow.HostState = socket;
                _ = ReceiveDgramAsync(flow, socket);
                return true;
            }
            catch (SocketException)
            {
                _dgramAllowed = false;
            }
        }

        if (_raw is null)
        {
            try
            {
                _raw = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp) { Blocking = false };
                _ = ReceiveRawAsync(_raw);
            }
            catch (SocketException e)
            {
                _unavailable = true;
                logger.LogWarning(
                    "user netdev: ping to the outside is unavailable: no unprivileged ICMP sockets (net.ipv4.ping_group_range) and no raw socket ({Message}); pings of the virtual host still work",
                    e.Message);
                return false;
            }
        }

        _rawFlows[(flow.HostDestination, flow.Identifier)] = flow;
        return true;
    }

    public void Send(IcmpFlow flow, ReadOnlySpan<byte> icmp)
    {
        var socket = flow.HostState as Socket ?? _raw;
        if (socket is null)
        {
            return;
        }

        try
        {
            socket.SendTo(icmp, SocketFlags.None, new IPEndPoint(SocketAddressBytes.ToIpAddress(flow.HostDestination), 0));
        }
        catch (SocketException)
        {
        }
    }

    public void Close(IcmpFlow flow)
    {
        if (flow.HostState is Socket socket)
        {
            socket.Dispose();
        }
        else
        {
            _rawFlows.Remove((flow.HostDestination, flow.Identifier));
        }
    }

    private async Task ReceiveDgramAsync(IcmpFlow flow, Socket socket)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        var from = SocketAddressBytes.CreateIpv4();
        try
        {
            while (true)
            {
                var n = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from).ConfigureAwait(false);
                if (n < IcmpPacket.HeaderLength || buffer[0] != IcmpPacket.TypeEchoReply)
                {
                    continue;
                }

                try
                {
                    lock (engine.Lock)
                    {
                        engine.Stack.OnIcmpReply(flow, buffer.AsSpan(0, n));
                    }

                    engine.Flush();
                }
                catch (Exception e) when (engine.ContainFault(e, this))
                {
                    // One bad reply is dropped (counted on the netdev); the flow keeps receiving.
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

    private async Task ReceiveRawAsync(Socket socket)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
                try
                {
                    if (!DeliverRaw(buffer.AsSpan(0, n)))
                    {
                        return;
                    }

                    engine.Flush();
                }
                catch (Exception e) when (engine.ContainFault(e, this))
                {
                    // One bad packet is dropped (counted on the netdev); the socket keeps receiving.
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

    /// <summary>Matches one raw packet to its flow; false once disposed.</summary>
    private bool DeliverRaw(Span<byte> packet)
    {
        if (!Ipv4Packet.TryCreate(packet, out var ip) || !IcmpPacket.TryCreate(ip.Payload, out var icmp)
            || icmp.Type != IcmpPacket.TypeEchoReply)
        {
            return true;
        }

        lock (engine.Lock)
        {
            if (_disposed)
            {
                return false;
            }

            if (_rawFlows.TryGetValue((ip.Source, icmp.Identifier), out var flow))
            {
                engine.Stack.OnIcmpReply(flow, icmp.Bytes);
            }
        }

        return true;
    }

    public void Dispose()
    {
        _disposed = true;
        _raw?.Dispose();
    }
}
