using Microsoft.Extensions.Logging;
using Netdevd.Native;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// Echo requests to the outside for one address family (<see cref="IcmpSockets"/> for IPv4,
/// <see cref="Icmpv6Sockets"/> for IPv6): an unprivileged ping socket per flow where
/// net.ipv4.ping_group_range allows it (the kernel then owns the identifier, and for ICMPv6 the
/// checksum), else one shared raw socket (root or CAP_NET_RAW; replies are matched by source and
/// identifier), else nothing, said once in the log. Every socket is non-blocking in the netdev's
/// epoll set; replies are read on its I/O thread into the engine's datagram buffer and handed to
/// the stack as queued host work, like every other host socket of the netdev. ICMP errors about the
/// requests (IP_RECVERR: a host or network unreachable from a router, the host's own failed
/// neighbour resolution) are read off each socket's error queue and relayed to the guest.
/// </summary>
internal abstract class PingSockets<TAddress, TFlow>(UserNetEngine engine, ILogger logger) : IDisposable
    where TAddress : struct, IEquatable<TAddress>
    where TFlow : class, IPingFlow<TAddress>
{
    private readonly Dictionary<(TAddress, ushort), TFlow> _rawFlows = [];
    private readonly byte[] _destination = new byte[SockAddrIn6.Length];
    private PingSocket? _raw;
    private bool? _dgramAllowed;
    private bool _unavailable;

    protected UserNetEngine Engine => engine;

    /// <summary>AF_INET or AF_INET6.</summary>
    protected abstract int Family { get; }

    /// <summary>IPPROTO_ICMP or IPPROTO_ICMPV6.</summary>
    protected abstract int Protocol { get; }

    /// <summary>"ICMP" or "ICMPv6", for the log.</summary>
    protected abstract string ProtocolName { get; }

    protected abstract byte EchoReplyType { get; }

    /// <summary>
    /// Tells the kernel to queue only echo replies on the shared raw socket: it would otherwise
    /// get every ICMP message the host receives (our own echo requests to local addresses too),
    /// which fill its buffer and push out the replies.
    /// </summary>
    protected abstract void AcceptOnlyEchoReplies(int rawFd);

    /// <summary>Writes the sockaddr of <paramref name="address"/> (port 0); returns its length.</summary>
    protected abstract int WriteDestination(Span<byte> sockaddr, TAddress address);

    /// <summary>
    /// The ICMP message and its sender in what the shared raw socket read (<paramref name="packet"/>)
    /// from <paramref name="from"/> (the sockaddr recvfrom filled).
    /// </summary>
    protected abstract bool TryReadRaw(Span<byte> packet, ReadOnlySpan<byte> from, out TAddress source, out Span<byte> message);

    /// <summary>Hands an echo reply (ICMP header and data) to the stack.</summary>
    protected abstract void Deliver(TFlow flow, ReadOnlySpan<byte> reply, byte ttl);

    /// <summary>The address of a sockaddr of <see cref="Family"/>; false when it is none (or cut short).</summary>
    protected abstract bool TryReadAddress(ReadOnlySpan<byte> sockaddr, out TAddress address);

    /// <summary>
    /// Hands the stack an ICMP error about one of the flow's requests (<paramref name="quoted"/>: its
    /// ICMP header and data as quoted) from <paramref name="offender"/> (default: not known).
    /// </summary>
    protected abstract void DeliverError(TFlow flow, in ExtendedSocketError error, TAddress offender, ReadOnlySpan<byte> quoted);

    public bool Open(TFlow flow)
    {
        if (_unavailable)
        {
            return false;
        }

        if (_dgramAllowed != false)
        {
            var fd = Libc.Socket(Family, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, Protocol);
            if (fd >= 0)
            {
                _dgramAllowed = true;
                RecvErrSocket.Enable(fd, Family == Libc.AF_INET6);
                flow.HostState = new PingSocket(this, fd, flow);
                return true;
            }

            _dgramAllowed = false;
        }

        if (_raw is null)
        {
            var fd = Libc.Socket(Family, Libc.SOCK_RAW | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, Protocol);
            if (fd < 0)
            {
                _unavailable = true;
                logger.LogWarning(
                    "user netdev: {Protocol} echo to the outside is unavailable: no unprivileged {Protocol} sockets (net.ipv4.ping_group_range) and no raw socket ({Message}); pings of the virtual host still work",
                    ProtocolName, ProtocolName, Errno.Message(Errno.Last));
                return false;
            }

            AcceptOnlyEchoReplies(fd);
            RecvErrSocket.Enable(fd, Family == Libc.AF_INET6);
            _raw = new PingSocket(this, fd, null);
        }

        _rawFlows[(flow.HostDestination, flow.Identifier)] = flow;
        return true;
    }

    /// <summary>
    /// Sends an echo request (ICMP header and data) with <paramref name="ttl"/> (0: as the last);
    /// false when the host has no route to the destination.
    /// </summary>
    public bool Send(TFlow flow, ReadOnlySpan<byte> icmp, byte ttl)
    {
        var socket = flow.HostState as PingSocket ?? _raw;
        if (socket is null)
        {
            return true;
        }

        socket.Ttl.Apply(socket.Fd, ttl, Family == Libc.AF_INET6);
        var length = WriteDestination(_destination, flow.HostDestination);
        // No route is reported; anything else is a lost packet (the guest's ping times out).
        return !Errno.IsNoRoute(RecvErrSocket.SendTo(socket.Fd, icmp, _destination.AsSpan(0, length)));
    }

    public void Close(TFlow flow)
    {
        if (flow.HostState is PingSocket socket)
        {
            socket.Close();
            flow.HostState = null;
        }
        else
        {
            _rawFlows.Remove((flow.HostDestination, flow.Identifier));
        }
    }

    /// <summary>One reply or raw packet read from <paramref name="socket"/> (under the engine lock, outside any stack call).</summary>
    /// <summary>A datagram off a socket, with the TTL (hop limit) it arrived with (0: not known).</summary>
    private void Receive(PingSocket socket, Span<byte> packet, ReadOnlySpan<byte> from, byte ttl)
    {
        if (socket.Flow is { } flow)
        {
            if (IcmpHeader.TryCreate(packet, out var reply) && reply.Type == EchoReplyType)
            {
                Deliver(flow, packet, ttl);
            }

            return;
        }

        if (TryReadRaw(packet, from, out var source, out var message) && IcmpHeader.TryCreate(message, out var icmp)
            && icmp.Type == EchoReplyType && _rawFlows.TryGetValue((source, icmp.Identifier), out var match))
        {
            Deliver(match, message, ttl);
        }
    }

    /// <summary>
    /// One entry of <paramref name="socket"/>'s error queue: the request it quotes is the flow's
    /// (on the shared raw socket, the flow of the request's destination and identifier).
    /// </summary>
    private void ReceiveError(PingSocket socket, in ExtendedSocketError error, Span<byte> quoted, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> offender)
    {
        var flow = socket.Flow;
        if (flow is null)
        {
            if (!TryReadAddress(destination, out var to) || !IcmpHeader.TryCreate(quoted, out var request) ||
                !_rawFlows.TryGetValue((to, request.Identifier), out flow))
            {
                return; // another process's request (the raw socket hears every ICMP error), or no longer ours
            }
        }

        DeliverError(flow, error, TryReadAddress(offender, out var from) ? from : default, quoted);
    }

    public void Dispose()
    {
        _raw?.Close();
        _raw = null;
    }

    /// <summary>A ping socket of one flow, or the shared raw socket (<see cref="Flow"/> null).</summary>
    private sealed class PingSocket : ErrorQueueWork, IHostIoHandler
    {
        private const int Batch = 64;
        private readonly PingSockets<TAddress, TFlow> _owner;
        private readonly byte[] _from = new byte[SockAddrIn6.Length];
        private readonly int _token;
        private SocketTtl _ttl;
        private bool _readable;
        private bool _closed;

        public PingSocket(PingSockets<TAddress, TFlow> owner, int fd, TFlow? flow)
        {
            _owner = owner;
            Fd = fd;
            Flow = flow;
            try
            {
                _token = owner.Engine.Poller.Register(fd, this, output: false);
            }
            catch
            {
                Libc.Close(fd);
                throw;
            }
        }

        public int Fd { get; }

        public TFlow? Flow { get; }

        /// <summary>What the socket sends with (the shared raw socket's, for every flow's request in turn).</summary>
        public ref SocketTtl Ttl => ref _ttl;

        public void OnReady(uint events)
        {
            _readable = true;
            NoteEvents(events);
            _owner.Engine.Queue(this);
        }

        public override void Run()
        {
            TakeReportedErrors();
            if (_closed || !_readable)
            {
                return;
            }

            var buffer = _owner.Engine.DatagramBuffer;
            for (var i = 0; i < Batch && !_closed; i++)
            {
                var n = Libc.RecvFromWithTtl(Fd, buffer, Libc.MSG_DONTWAIT, _from, out var fromLength, out var ttl);
                if (n < 0)
                {
                    if (Errno.Last == Errno.EAGAIN)
                    {
                        _readable = false;
                        return;
                    }

                    TakeErrors(); // the socket's pending error: its entry waits on the error queue
                    continue;
                }

                _owner.Receive(this, buffer.AsSpan(0, (int)n), _from.AsSpan(0, Math.Min(fromLength, _from.Length)), ttl);
            }

            // More may be waiting: run again after the other queued work, so one busy socket cannot starve the rest.
            _owner.Engine.Queue(this);
        }

        protected override int ErrorQueueFd => Fd;

        protected override bool IsClosed => _closed;

        protected override void Requeue() => _owner.Engine.Queue(this);

        protected override void OnError(in ExtendedSocketError error, Span<byte> quoted, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> offender) =>
            _owner.ReceiveError(this, error, quoted, destination, offender);

        public void Close()
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _owner.Engine.Poller.Unregister(Fd, _token);
            Libc.Close(Fd);
        }
    }
}
