using Microsoft.Extensions.Logging;
using Netdevd.Native;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>ICMPv4 echo to the outside through the host's ping sockets (<see cref="PingSockets{TAddress, TFlow}"/>).</summary>
internal sealed class IcmpSockets(UserNetEngine engine, ILogger logger) : PingSockets<Ipv4Address, IcmpFlow>(engine, logger)
{
    protected override int Family => Libc.AF_INET;

    protected override int Protocol => Libc.IPPROTO_ICMP;

    protected override string ProtocolName => "ICMP";

    protected override byte EchoReplyType => IcmpPacket.TypeEchoReply;

    /// <summary>Not fatal if refused: replies are still matched by type in <c>Receive</c>.</summary>
    protected override void AcceptOnlyEchoReplies(int rawFd) =>
        _ = Libc.SetSockOptInt(rawFd, Libc.SOL_RAW, Libc.ICMP_FILTER, ~(1 << IcmpPacket.TypeEchoReply));

    protected override int WriteDestination(Span<byte> sockaddr, Ipv4Address address)
    {
        SockAddrIn.Write(sockaddr, address, 0);
        return SockAddrIn.Length;
    }

    /// <summary>A raw IPv4 socket delivers the whole datagram: the sender is in its header.</summary>
    protected override bool TryReadRaw(Span<byte> packet, ReadOnlySpan<byte> from, out Ipv4Address source, out Span<byte> message)
    {
        if (Ipv4Packet.TryCreate(packet, out var ip))
        {
            source = ip.Source;
            message = ip.Payload;
            return true;
        }

        source = default;
        message = default;
        return false;
    }

    protected override void Deliver(IcmpFlow flow, ReadOnlySpan<byte> reply, byte ttl) => Engine.Stack.OnIcmpReply(flow, reply, ttl);

    protected override bool TryReadAddress(ReadOnlySpan<byte> sockaddr, out Ipv4Address address) => SockAddrIn.TryRead(sockaddr, out address, out _);

    protected override void DeliverError(IcmpFlow flow, in ExtendedSocketError error, Ipv4Address offender, ReadOnlySpan<byte> quoted) =>
        Engine.Stack.OnIcmpError(flow, error, offender, quoted);
}
