namespace Netdevd.Wire;

/// <summary>The contents of a prefix information option (RFC 4861 4.6.2).</summary>
public readonly record struct NdpPrefixInformation(
    Ipv6Address Prefix,
    int PrefixLength,
    bool OnLink,
    bool Autonomous,
    uint ValidLifetime,
    uint PreferredLifetime);
