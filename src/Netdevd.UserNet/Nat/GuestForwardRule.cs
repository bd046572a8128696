using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>A parsed guestfwd rule: TCP connections from the guest to <see cref="Server"/>:<see cref="Port"/> go to <see cref="Target"/>.</summary>
public sealed record GuestForwardRule(string Text, Ipv4Address Server, ushort Port, HostTarget Target);
