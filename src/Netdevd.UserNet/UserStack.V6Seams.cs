using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Services;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// TEMPORARY (branch h-v6nat): the minimal IPv6 dispatch and emission the IPv6 NAT needs, standing
/// in for h-v6link's UserStack.Ipv6.cs/Udp6.cs with the same member names; deleted when that
/// branch is merged (its members then take over, unchanged callers).
/// </summary>
public sealed partial class UserStack
{
    private const int Ipv6Headers = EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength;
    private static readonly Ipv6Address LinkLocalPrefix = new(0xFE80_0000_0000_0000UL, 0);
    private readonly NdpTable _ndp = new();

    private void InputIpv6(EthernetFrame eth)
    {
        if (!_options.Ipv6Enabled || !Ipv6Packet.TryCreate(eth.Payload, out var ip))
        {
            Counters.Drop(FrameDropReason.UnsupportedEtherType);
            return;
        }

        if (!ip.Source.IsUnspecified && !ip.Source.IsMulticast)
        {
            _ndp.Add(ip.Source, eth.Source);
        }

        switch (ip.NextHeader)
        {
            case IpProtocol.Tcp:
                InputTcp6(ip, Ipv6Packet.HeaderLength);
                break;
            case IpProtocol.Udp:
                if (!UdpPacket.TryCreate(ip.Bytes[Ipv6Packet.HeaderLength..], out var udp))
                {
                    Counters.Drop(FrameDropReason.Malformed);
                    return;
                }

                if (!udp.VerifyChecksum(ip.Source, ip.Destination))
                {
                    Counters.Drop(FrameDropReason.BadChecksum);
                    return;
                }

                InputUdp6Nat(ip, udp);
                break;
            default:
                Counters.Drop(FrameDropReason.UnsupportedProtocol);
                break;
        }
    }

    private bool IsRouterAddress6(Ipv6Address a) => IsMachine6(a, _options.Ipv6Host);

    private bool IsDnsAddress6(Ipv6Address a) => IsMachine6(a, _options.Ipv6Dns);

    private bool IsMachine6(Ipv6Address a, Ipv6Address machine)
    {
        var length = _options.Ipv6PrefixLength;
        return (a.IsInPrefix(_options.Ipv6Prefix, length) && a.InterfaceIdentifier(length) == machine.InterfaceIdentifier(length)) ||
               (a.IsInPrefix(LinkLocalPrefix, 64) && a.InterfaceIdentifier(64) == machine.InterfaceIdentifier(64));
    }

    private bool IsOnLink6(Ipv6Address a) =>
        a.IsInPrefix(_options.Ipv6Prefix, _options.Ipv6PrefixLength) || a.IsLinkLocal || a.IsMulticast || a.IsUnspecified || a.IsLoopback;

    private Span<byte> BeginIpv6(Ipv6Address source, Ipv6Address destination, byte nextHeader, int l4Length, out Span<byte> frame, byte hopLimit = 64)
    {
        frame = _sink.Allocate(Math.Max(Ipv6Headers + l4Length, EthernetFrame.MinimumLength));
        if (frame.Length < Ipv6Headers + l4Length)
        {
            Counters.Drop(FrameDropReason.OutputFull);
            return default;
        }

        EthernetFrame.WriteHeader(frame, _ndp.Resolve(destination), VirtualMac.For(source), EtherType.Ipv6);
        Ipv6Packet.WriteHeader(frame[EthernetFrame.HeaderLength..], source, destination, nextHeader, l4Length, hopLimit);
        frame = frame[..Math.Max(Ipv6Headers + l4Length, EthernetFrame.MinimumLength)];
        return frame.Slice(Ipv6Headers, l4Length);
    }

    private void SendUdp6(Ipv6Address source, ushort sourcePort, Ipv6Address destination, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        var l4 = BeginIpv6(source, destination, IpProtocol.Udp, UdpPacket.HeaderLength + payload.Length, out var frame);
        if (l4.IsEmpty)
        {
            return;
        }

        UdpPacket.WriteHeader(l4, sourcePort, destinationPort, payload.Length);
        payload.CopyTo(l4[UdpPacket.HeaderLength..]);
        UdpPacket.CreateUnchecked(l4).FillChecksum(source, destination);
        Commit(frame, Ipv6Headers + l4.Length);
    }
}
