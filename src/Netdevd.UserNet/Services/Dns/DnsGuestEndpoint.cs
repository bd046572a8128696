using Netdevd.Wire;

namespace Netdevd.UserNet.Services.Dns;

/// <summary>Where an answer goes: the guest address and port that asked (from dns:53).</summary>
public readonly record struct DnsGuestEndpoint(Ipv4Address Address, ushort Port);
