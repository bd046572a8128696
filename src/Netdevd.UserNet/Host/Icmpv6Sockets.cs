using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// ICMPv6 echo to the outside, as <see cref="IcmpSockets"/> does for IPv4: an unprivileged ICMPv6
/// datagram socket per flow where net.ipv4.ping_group_range allows it (the kernel owns the
/// identifier and the checksum), else one shared raw ICMPv6 socket (root or CAP_NET_RAW; the kernel
/// computes ICMPv6 checksums on raw sockets, replies are matched by source and identifier), else
/// nothing, said once in the log. A send the host has no route for is reported to the stack,
/// which answers the guest with an unreachable as libslirp does.
/// </summary>
internal sealed class Icmpv6Sockets(UserNetEngine engine, ILogger logger) : IIcmpv6Host, IDisposable
{
    private const int BufferSize = 65536;
    private readonly Dictionary<(Ipv6Address, ushort), Icmpv6Flow> _rawFlows = [];
    private Socket? _raw;
    private bool? _dgramAllowed;
    private bool _unavailable;
    private bool _disposed;

    public bool Open(Icmpv6Flow flow)
    {
        if (_unavailable)
        {
            return false;
        }

        if (_dgramAllowed != false)
        {
            try
            {
                var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.IcmpV6) { Blocking = false };
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
                _raw = new Socket(AddressFamily.InterNetworkV6, SocketType.Raw, ProtocolType.IcmpV6) { Blocking = false };
                _ = ReceiveRawAsync(_raw);
            }
            catch (SocketException e)
            {
                _unavailable = true;
                logger.LogWarning(
                    "user netdev: IPv6 ping to the outside is unavailable: no unprivileged ICMPv6 sockets (net.ipv4.ping_group_range) and no raw socket ({Message}); pings of the virtual host still work",
                    e.Message);
                return false;
            }
        }

        _rawFlows[(flow.Destination, flow.Identifier)] = flow;
        return true;
    }

    public bool Send(Icmpv6Flow flow, ReadOnlySpan<byte> icmp)
    {
        var socket = flow.HostState as Socket ?? _raw;
        if (socket is null)
        {
            return true;
        }

        try
        {
            socket.SendTo(icmp, SocketFlags.None, new IPEndPoint(flow.Destination.ToIPAddress(), 0));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.AddressNotAvailable)
        {
            return false;
        }
        catch (SocketException)
        {
            return true; // a full buffer or the like: the guest's ping times out, as a lost packet would
        }
    }

    public void Close(Icmpv6Flow flow)
    {
        if (flow.HostState is Socket socket)
        {
            socket.Dispose();
        }
        else
        {
            _rawFlows.Remove((flow.Destination, flow.Identifier));
        }
    }

    private async Task ReceiveDgramAsync(Icmpv6Flow flow, Socket socket)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        var from = new SocketAddress(AddressFamily.InterNetworkV6);
        try
        {
            while (true)
            {
                var n = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from).ConfigureAwait(false);
                if (n < Icmpv6Packet.HeaderLength || buffer[0] != Icmpv6Packet.TypeEchoReply)
                {
                    continue;
                }

                try
                {
                    lock (engine.Lock)
                    {
                        engine.Stack.OnIcmpv6Reply(flow, buffer.AsSpan(0, n));
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
        var from = new SocketAddress(AddressFamily.InterNetworkV6);
        try
        {
            while (true)
            {
                // A raw ICMPv6 socket delivers the message without the IPv6 header; the sender is in the address.
                var n = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from).ConfigureAwait(false);
                try
                {
                    if (!DeliverRaw(buffer.AsSpan(0, n), Ipv6Address.Read(from.Buffer.Span[8..])))
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

    /// <summary>Matches one raw message to its flow; false once disposed.</summary>
    private bool DeliverRaw(Span<byte> message, Ipv6Address source)
    {
        if (!Icmpv6Packet.TryCreate(message, out var icmp) || icmp.Type != Icmpv6Packet.TypeEchoReply)
        {
            return true;
        }

        lock (engine.Lock)
        {
            if (_disposed)
            {
                return false;
            }

            if (_rawFlows.TryGetValue((source, icmp.Identifier), out var flow))
            {
                engine.Stack.OnIcmpv6Reply(flow, icmp.Bytes);
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
