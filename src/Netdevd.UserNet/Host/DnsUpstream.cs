using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Netdevd.UserNet.Services.Dns;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The DNS proxy's host side: one UDP socket per address family, opened when a resolver of that
/// family is first asked (a host with only IPv6 nameservers needs no IPv4 socket, and the other
/// way round), each handing answers to the stack.
/// </summary>
internal sealed class DnsUpstream : IDnsUpstream, IDisposable
{
    private readonly UserNetEngine _engine;
    private readonly object _open = new();
    private Socket? _v4;
    private Socket? _v6;
    private volatile bool _closed;

    public DnsUpstream(UserNetEngine engine)
    {
        _engine = engine;
    }

    public void Send(IPEndPoint resolver, ReadOnlySpan<byte> query)
    {
        try
        {
            SocketFor(resolver.AddressFamily)?.SendTo(query, SocketFlags.None, resolver);
        }
        catch (SocketException)
        {
            // The forwarder's timeout moves on to the next resolver.
        }
    }

    /// <summary>The socket of a family, opened on first use; null when closed or the family is not available.</summary>
    private Socket? SocketFor(AddressFamily family)
    {
        lock (_open)
        {
            if (_closed)
            {
                return null;
            }

            ref var slot = ref family == AddressFamily.InterNetworkV6 ? ref _v6 : ref _v4;
            if (slot is null)
            {
                var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
                try
                {
                    socket.Bind(new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }

                slot = socket;
                _ = ReceiveLoopAsync(socket);
            }

            return slot;
        }
    }

    private async Task ReceiveLoopAsync(Socket socket)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(65536);
        EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try
        {
            while (!_closed)
            {
                SocketReceiveFromResult result;
                try
                {
                    result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any).ConfigureAwait(false);
                }
                catch (SocketException e) when (!_closed && e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
                {
                    continue;
                }

                if (result.RemoteEndPoint is not IPEndPoint from)
                {
                    continue;
                }

                try
                {
                    lock (_engine.Lock)
                    {
                        if (_closed)
                        {
                            return;
                        }

                        _engine.Stack.OnDnsAnswer(from, buffer.AsSpan(0, result.ReceivedBytes));
                        _engine.RunHostWork();
                    }

                    _engine.Flush();
                }
                catch (Exception e) when (_engine.ContainFault(e, this))
                {
                    // One bad answer is dropped (counted on the netdev); the proxy keeps receiving.
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

    public void Dispose()
    {
        lock (_open)
        {
            _closed = true;
            _v4?.Dispose();
            _v6?.Dispose();
        }
    }
}
