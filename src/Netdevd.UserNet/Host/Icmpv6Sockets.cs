using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Netdevd.Native;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// ICMPv6 echo to the outside through the host's ping sockets (<see cref="PingSockets{TAddress, TFlow}"/>);
/// the kernel computes ICMPv6 checksums on raw sockets too. A send the host has no route for is
/// reported to the stack, which answers the guest with an unreachable as libslirp does.
/// </summary>
internal sealed class Icmpv6Sockets(UserNetEngine engine, ILogger logger) : PingSockets<Ipv6Address, Icmpv6Flow>(engine, logger)
{
    protected override int Family => Libc.AF_INET6;

    protected override int Protocol => Libc.IPPROTO_ICMPV6;

    protected override string ProtocolName => "ICMPv6";

    protected override byte EchoReplyType => Icmpv6Packet.TypeEchoReply;

    /// <summary>struct icmp6_filter: a set bit drops the type. Not fatal if refused: replies are still matched by type.</summary>
    protected override void AcceptOnlyEchoReplies(int rawFd)
    {
        Span<uint> filter = stackalloc uint[8];
        filter.Fill(uint.MaxValue);
        const byte Type = Icmpv6Packet.TypeEchoReply;
        filter[Type >> 5] &= ~(1u << (Type & 31));
        _ = Libc.SetSockOpt(rawFd, Libc.IPPROTO_ICMPV6, Libc.ICMP6_FILTER, MemoryMarshal.AsBytes(filter));
    }

    protected override int WriteDestination(Span<byte> sockaddr, Ipv6Address address)
    {
        SockAddrIn6.Write(sockaddr, address, 0);
        return SockAddrIn6.Length;
    }

    /// <summary>A raw ICMPv6 socket delivers the message without the IPv6 header: the sender is in the address.</summary>
    protected override bool TryReadRaw(Span<byte> packet, ReadOnlySpan<byte> from, out Ipv6Address source, out Span<byte> message)
    {
        if (from.Length >= SockAddrIn6.Length)
        {
            source = SockAddrIn6.Address(from);
            message = packet;
            return true;
        }

        source = default;
        message = default;
        return false;
    }

    protected override void Deliver(Icmpv6Flow flow, ReadOnlySpan<byte> reply, byte hopLimit) => Engine.Stack.OnIcmpv6Reply(flow, reply, hopLimit);

    protected override bool TryReadAddress(ReadOnlySpan<byte> sockaddr, out Ipv6Address address) => SockAddrIn6.TryRead(sockaddr, out address, out _);

    protected override void DeliverError(Icmpv6Flow flow, in ExtendedSocketError error, Ipv6Address offender, ReadOnlySpan<byte> quoted) =>
        Engine.Stack.OnIcmpv6Error(flow, error, offender, quoted);
}
