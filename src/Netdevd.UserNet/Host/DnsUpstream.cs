using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Netdevd.Native;
using Netdevd.UserNet.Services.Dns;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The DNS proxy's host side: one UDP socket per address family, each in the netdev's epoll set,
/// that send queries to the resolvers and hand answers to the stack on the netdev's I/O thread. A
/// family's socket is opened when a resolver of that family is first asked, so a host with only
/// IPv6 nameservers needs no IPv4 socket, and the other way round. ICMP errors for the queries
/// (IP_RECVERR) are read off each socket's error queue and handed to the stack with the query they
/// name, so a resolver that cannot be reached is given up at once instead of at its timeout.
/// </summary>
internal sealed class DnsUpstream : IDnsUpstream, IDisposable
{
    private readonly UserNetEngine _engine;
    private FamilySocket? _v4;
    private FamilySocket? _v6;
    private bool _closed;

    public DnsUpstream(UserNetEngine engine)
    {
        _engine = engine;
    }

    /// <summary>Sends one query (under the engine lock); false when the host refused it at once.</summary>
    public bool Send(IPEndPoint resolver, ReadOnlySpan<byte> query)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        var v6 = resolver.AddressFamily == AddressFamily.InterNetworkV6;
        if (!v6 && resolver.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        ref var slot = ref v6 ? ref _v6 : ref _v4;
        if (slot is null)
        {
            if (_closed)
            {
                return false;
            }

            try
            {
                slot = new FamilySocket(_engine, v6);
            }
            catch (IOException)
            {
                return false; // the family is not available on this host (ipv6.disable=1, ...)
            }
        }

        return slot.Send(resolver, query);
    }

    public void Dispose()
    {
        lock (_engine.Lock)
        {
            _closed = true;
            _v4?.Close();
            _v6?.Close();
        }
    }

    /// <summary>One family's socket: struct sockaddr_in or sockaddr_in6, written and read in place.</summary>
    private sealed class FamilySocket : ErrorQueueWork, IHostIoHandler
    {
        private const int Batch = 64;

        /// <summary>How much of the datagram behind an ICMP error is read back: the DNS header and the start of the question.</summary>
        private const int QuotedQueryLength = 64;

        private readonly UserNetEngine _engine;
        private readonly bool _v6;
        private readonly int _fd;
        private readonly int _token;
        private bool _readable;
        private bool _closed;

        public FamilySocket(UserNetEngine engine, bool v6)
        {
            _engine = engine;
            _v6 = v6;
            _fd = Libc.Socket(v6 ? Libc.AF_INET6 : Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
            if (_fd < 0)
            {
                throw new IOException($"socket: {Errno.Message(Errno.Last)}");
            }

            Span<byte> any = stackalloc byte[SockAddrIn6.Length];
            var length = Write(any, v6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0));
            try
            {
                if (Libc.Bind(_fd, any[..length]) < 0)
                {
                    throw new IOException($"bind: {Errno.Message(Errno.Last)}");
                }

                // Without it the timeouts alone find a dead resolver.
                RecvErrSocket.Enable(_fd, v6);

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

        public bool Send(IPEndPoint resolver, ReadOnlySpan<byte> query)
        {
            Span<byte> to = stackalloc byte[SockAddrIn6.Length];
            var length = Write(to, resolver);

            // A loss as on a congested network is left to the timeout; a failure of the query's
            // own (no route, no family) is the forwarder's cue to try the next resolver now.
            return RecvErrSocket.SendTo(_fd, query, to[..length]) == 0;
        }

        public void OnReady(uint events)
        {
            _readable = true;
            NoteEvents(events);
            _engine.Queue(this);
        }

        public override void Run()
        {
            TakeReportedErrors();
            if (_closed || !_readable)
            {
                return;
            }

            var buffer = _engine.DatagramBuffer;
            Span<byte> from = stackalloc byte[SockAddrIn6.Length];
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

                    // The socket's pending error (an ICMP error, now cleared): its entry waits on
                    // the error queue, with the query it names.
                    TakeErrors();
                    continue;
                }

                _engine.Stack.OnDnsAnswer(Read(from), buffer.AsSpan(0, (int)n));
            }

            _engine.Queue(this);
        }

        protected override int ErrorQueueFd => _fd;

        protected override bool IsClosed => _closed;

        protected override int QuotedLength => QuotedQueryLength;

        protected override void Requeue() => _engine.Queue(this);

        /// <summary>
        /// An ICMP error that says a query cannot arrive goes to the stack with the resolver and the
        /// start of the query (a path MTU report is no such error).
        /// </summary>
        protected override void OnError(in ExtendedSocketError error, Span<byte> quoted, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> offender)
        {
            var whole = _v6 ? SockAddrIn6.TryRead(destination, out _, out _) : SockAddrIn.TryRead(destination, out _, out _);
            if (error.Errno != 0 && error.Errno != Errno.EMSGSIZE && whole)
            {
                _engine.Stack.OnDnsUnreachable(Read(destination), quoted);
            }
        }

        public void Close()
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _engine.Poller.Unregister(_fd, _token);
            Libc.Close(_fd);
        }

        private IPEndPoint Read(ReadOnlySpan<byte> sockaddr)
        {
            var port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);
            return _v6
                ? new IPEndPoint(new IPAddress(sockaddr.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(sockaddr[24..])), port)
                : new IPEndPoint(SocketAddressBytes.ToIpAddress(Ipv4Address.Read(sockaddr[4..])), port);
        }

        /// <summary>Writes sockaddr_in or sockaddr_in6 for <paramref name="endPoint"/>; returns its length.</summary>
        private static int Write(Span<byte> sockaddr, IPEndPoint endPoint)
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetwork)
            {
                SockAddrIn.Write(sockaddr, SocketAddressBytes.FromIpAddress(endPoint.Address), (ushort)endPoint.Port);
                return SockAddrIn.Length;
            }

            SockAddrIn6.Write(sockaddr, Ipv6Address.FromIPAddress(endPoint.Address), (ushort)endPoint.Port, (uint)endPoint.Address.ScopeId);
            return SockAddrIn6.Length;
        }
    }
}
