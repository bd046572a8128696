using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// A connection's tap side: the guest endpoint and the (possibly virtual) foreign endpoint it sees.
/// Also the key of the TCP flow table.
/// </summary>
public readonly record struct TcpFlowAddress(Ipv4Address GuestAddress, ushort GuestPort, Ipv4Address ForeignAddress, ushort ForeignPort)
{
    public override string ToString() => $"{GuestAddress}:{GuestPort} <-> {ForeignAddress}:{ForeignPort}";
}
