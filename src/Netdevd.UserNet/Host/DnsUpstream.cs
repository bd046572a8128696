using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Netdevd.UserNet.Services.Dns;

namespace Netdevd.UserNet.Host;

/// <summary>The DNS proxy's host side: one UDP socket that sends queries to the resolvers and hands answers to the stack.</summary>
internal sealed class DnsUpstream : IDnsUpstream, IDisposable
{
    private readonly UserNetEngine _engine;
    private readonly Socket _socket;
    private volatile bool _closed;

    public DnsUpstream(UserNetEngine engine)
    {
        _engine = engine;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
        _socket.Bind(new IPEndPoint(IPAddress.Any, 0));
        _ = ReceiveLoopAsync();
    }

    public void Send(IPEndPoint resolver, ReadOnlySpan<byte> query)
    {
        try
        {
            _socket.SendTo(query, SocketFlags.None, resolver);
        }
        catch (SocketException)
        {
            // The forwarder's timeout moves on to the next resolver.
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(65536);
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        try
        {
            while (!_closed)
            {
                SocketReceiveFromResult result;
                try
                {
                    result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any).ConfigureAwait(false);
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
        _closed = true;
        _socket.Dispose();
    }
}
