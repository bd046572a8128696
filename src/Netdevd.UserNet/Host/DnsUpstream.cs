using System.Buffers.Binary;
using System.Net;
using Netdevd.Native;
using Netdevd.UserNet.Services.Dns;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The DNS proxy's host side: one UDP socket, in the netdev's epoll set, that sends queries to the
/// resolvers and hands answers to the stack on the netdev's I/O thread.
/// </summary>
internal sealed class DnsUpstream : HostWork, IDnsUpstream, IHostIoHandler, IDisposable
{
    private const int Batch = 64;
    private readonly UserNetEngine _engine;
    private readonly int _fd;
    private readonly int _token;
    private bool _readable;
    private bool _closed;

    public DnsUpstream(UserNetEngine engine)
    {
        _engine = engine;
        _fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
        if (_fd < 0)
        {
            throw new IOException($"socket: {Errno.Message(Errno.Last)}");
        }

        Span<byte> any = stackalloc byte[SockAddrIn.Length];
        SockAddrIn.Write(any, Ipv4Address.Any, 0);
        try
        {
            if (Libc.Bind(_fd, any) < 0)
            {
                throw new IOException($"bind: {Errno.Message(Errno.Last)}");
            }

            lock (engine.Lock)
            {
                _token = engine.Poller.Register(_fd, this, output: false);
            }
        }
        catch
        {
            Libc.Close(_fd);
            throw;
        }
    }

    /// <summary>Sends one query (under the engine lock); a failure is a lost datagram, which the forwarder's timeout handles.</summary>
    public void Send(IPEndPoint resolver, ReadOnlySpan<byte> query)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        if (resolver.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            return; // this socket is IPv4
        }

        Span<byte> to = stackalloc byte[SockAddrIn.Length];
        SockAddrIn.Write(to, SocketAddressBytes.FromIpAddress(resolver.Address), (ushort)resolver.Port);
        _ = Libc.SendTo(_fd, query, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL, to);
    }

    public void OnReady(uint events)
    {
        _readable = true;
        _engine.Queue(this);
    }

    public override void Run()
    {
        if (_closed || !_readable)
        {
            return;
        }

        var buffer = _engine.DatagramBuffer;
        Span<byte> from = stackalloc byte[SockAddrIn.Length];
        for (var i = 0; i < Batch && !_closed; i++)
        {
            var n = Libc.RecvFrom(_fd, buffer, Libc.MSG_DONTWAIT, from, out _);
            if (n < 0)
            {
                if (Errno.Last == Errno.EAGAIN)
                {
                    _readable = false;
                    return;
                }

                continue; // refused or unreachable: an ICMP error for an earlier query
            }

            var sender = new IPEndPoint(SocketAddressBytes.ToIpAddress(Ipv4Address.Read(from[4..])), BinaryPrimitives.ReadUInt16BigEndian(from[2..]));
            _engine.Stack.OnDnsAnswer(sender, buffer.AsSpan(0, (int)n));
        }

        _engine.Queue(this);
    }

    public void Dispose()
    {
        lock (_engine.Lock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _engine.Poller.Unregister(_fd, _token);
            Libc.Close(_fd);
        }
    }
}
