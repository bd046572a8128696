namespace Netdevd.UserNet.Nat;

/// <summary>
/// The host side of ICMPv6 echo: host ICMPv6 sockets. Kept apart from <see cref="INatHost"/> so the
/// IPv6 echo path can be attached (or not) without touching the other flows' host side.
/// </summary>
internal interface IIcmpv6Host
{
    /// <summary>Opens the host side of an echo flow; false when ICMPv6 sockets are not available here.</summary>
    bool Open(Icmpv6Flow flow);

    /// <summary>Sends an echo request (ICMPv6 header and data); false when the host has no route (the guest gets an unreachable). <paramref name="hopLimit"/>: as <see cref="INatHost.SendUdp"/>'s TTL.</summary>
    bool Send(Icmpv6Flow flow, ReadOnlySpan<byte> icmp, byte hopLimit);

    void Close(Icmpv6Flow flow);
}
