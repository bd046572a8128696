using Netdevd.Wire;

namespace Netdevd.UserNet.Services;

/// <summary>
/// A client the stateful DHCPv6 server gave its address to (a Reply with the IA_NA), known by the
/// link-layer address its messages came from. The lifetimes are infinite (passt's), so a binding
/// ends only when the client releases the address.
/// </summary>
public readonly record struct Dhcpv6Binding(Ipv6Address Address, MacAddress Mac);
