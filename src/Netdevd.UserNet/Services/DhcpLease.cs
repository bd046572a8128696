using Netdevd.Wire;

namespace Netdevd.UserNet.Services;

/// <summary>One slot of the DHCP pool (libslirp's BOOTPClient): the slot index fixes the address.</summary>
public readonly record struct DhcpLease(Ipv4Address Address, MacAddress Mac, DateTimeOffset Expires);
