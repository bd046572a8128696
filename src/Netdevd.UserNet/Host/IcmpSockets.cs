using Microsoft.Extensions.Logging;
using Netdevd.Native;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// Echo requests to the outside: an unprivileged ICMP datagram socket per flow where
/// net.ipv4.ping_group_range allows it (the kernel then owns the identifier), else one shared raw
/// socket (root or CAP_NET_RAW; replies are matched by source and identifier), else nothing, said
/// once in the log. Every socket is non-blocking in the netdev's epoll set; replies are read on
/// its I/O thread into the engine's datagram buffer.
/// </summary>
internal sealed class IcmpSockets(UserNetEngine engine, ILogger logger) : IDisposable
{
    private const int SockRaw = 3;
    private readonly Dictionary<(Ipv4Address, ushort), IcmpFlow> _rawFlows = [];
    private readonly byte[] _destination = new byte[SockAddrIn.Length];
    private IcmpSocket? _raw;
    private bool? _dgramAllowed;
    private bool _unavailable;

    private UserNetEngine Engine => engine;

    public bool Open(IcmpFlow flow)
    {
        if (_unavailable)
        {
            return false;
        }

        if (_dgramAllowed != false)
        {
            var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, Libc.IPPROTO_ICMP);
            if (fd >= 0)
            {
                _dgramAllowed = true;
                flow.HostState = new IcmpSocket(this, fd, flow);
                return true;
            }

            _dgramAllowed = false;
        }

        if (_raw is null)
        {
            var fd = Libc.Socket(Libc.AF_INET, SockRaw | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, Libc.IPPROTO_ICMP);
            if (fd < 0)
            {
                _unavailable = true;
                logger.LogWarning(
                    "user netdev: ping to the outside is unavailable: no unprivileged ICMP sockets (net.ipv4.ping_group_range) and no raw socket ({Message}); pings of the virtual host still work",
                    Errno.Message(Errno.Last));
                return false;
            }

            _raw = new IcmpSocket(this, fd, null);
        }

        _rawFlows[(flow.HostDestination, flow.Identifier)] = flow;
        return true;
    }

    public void Send(IcmpFlow flow, ReadOnlySpan<byte> icmp)
    {
        var socket = flow.HostState as IcmpSocket ?? _raw;
        if (socket is null)
        {
            return;
        }

        SockAddrIn.Write(_destination, flow.HostDestination, 0);
        _ = Libc.SendTo(socket.Fd, icmp, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL, _destination);
    }

    public void Close(IcmpFlow flow)
    {
        if (flow.HostState is IcmpSocket socket)
        {
            socket.Close();
        }
        else
        {
            _rawFlows.Remove((flow.HostDestination, flow.Identifier));
        }
    }

    /// <summary>One reply or raw packet read from <paramref name="socket"/> (under the engine lock, outside any stack call).</summary>
    private void Deliver(IcmpSocket socket, Span<byte> packet)
    {
        if (socket.Flow is { } flow)
        {
            if (packet.Length >= IcmpPacket.HeaderLength && packet[0] == IcmpPacket.TypeEchoReply)
            {
                engine.Stack.OnIcmpReply(flow, packet);
            }

            return;
        }

        if (Ipv4Packet.TryCreate(packet, out var ip) && IcmpPacket.TryCreate(ip.Payload, out var icmp)
            && icmp.Type == IcmpPacket.TypeEchoReply && _rawFlows.TryGetValue((ip.Source, icmp.Identifier), out var match))
        {
            engine.Stack.OnIcmpReply(match, icmp.Bytes);
        }
    }

    public void Dispose()
    {
        _raw?.Close();
        _raw = null;
    }

    /// <summary>A ping socket of one flow, or the shared raw socket (<see cref="Flow"/> null).</summary>
    private sealed class IcmpSocket : HostWork, IHostIoHandler
    {
        private const int Batch = 64;
        private readonly IcmpSockets _owner;
        private readonly int _token;
        private bool _readable;
        private bool _closed;

        public IcmpSocket(IcmpSockets owner, int fd, IcmpFlow? flow)
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

        public IcmpFlow? Flow { get; }

        public void OnReady(uint events)
        {
            _readable = true;
            _owner.Engine.Queue(this);
        }

        public override void Run()
        {
            if (_closed || !_readable)
            {
                return;
            }

            var buffer = _owner.Engine.DatagramBuffer;
            for (var i = 0; i < Batch && !_closed; i++)
            {
                var n = Libc.Recv(Fd, buffer, Libc.MSG_DONTWAIT);
                if (n < 0)
                {
                    if (Errno.Last == Errno.EAGAIN)
                    {
                        _readable = false;
                        return;
                    }

                    continue;
                }

                _owner.Deliver(this, buffer.AsSpan(0, (int)n));
            }

            _owner.Engine.Queue(this);
        }

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
