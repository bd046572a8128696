using Netdevd.UserNet.Interface;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// The seams where TCP and UDP NAT over IPv6 plug in (the IPv6 NAT work replaces these bodies):
/// until then such datagrams are dropped and counted.
/// </summary>
public sealed partial class UserStack
{
    private void InputTcp6(Ipv6Packet ip, int offset)
    {
        _ = ip;
        _ = offset;
        Counters.Drop(FrameDropReason.UnsupportedProtocol);
    }

    private void InputUdp6Nat(Ipv6Packet ip, UdpPacket udp)
    {
        _ = ip;
        _ = udp;
        Counters.Drop(FrameDropReason.UnsupportedProtocol);
    }
}
