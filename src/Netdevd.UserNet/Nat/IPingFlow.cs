namespace Netdevd.UserNet.Nat;

/// <summary>An echo flow as the host's ping sockets see it, IPv4 or IPv6 (<typeparamref name="TAddress"/>).</summary>
internal interface IPingFlow<TAddress>
    where TAddress : struct
{
    /// <summary>Where the host socket sends (and, on a shared raw socket, what replies come from).</summary>
    TAddress HostDestination { get; }

    ushort Identifier { get; }

    /// <summary>The flow's own host socket, or null on the shared raw socket.</summary>
    object? HostState { get; set; }
}
