using System.Buffers.Binary;
using Netdevd.Fuzz.Support;
using Netdevd.Wire;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// IPv6 datagrams (header, extension headers and all) in Ethernet frames into a dual-stack user
/// stack: the extension-header walk, reassembly, NDP, DHCPv6, ICMPv6 echo. The upper-layer
/// checksum is repaired unless the control says not to. Actions: 0 the record is a guest datagram
/// (its Ethernet destination the router's MAC); 1 a host echo reply for the newest echo flow;
/// 2 a guest datagram while the host has no route (sends fail); 3 an ICMP error a UDP or echo
/// flow's host socket heard (<see cref="StackDriver.HostError"/>).
/// </summary>
public static class UserIpv6Harness
{
    private static readonly byte[] RouterMac = [0x52, 0x56, 0, 0, 0, 2];

    public static void Run(ReadOnlySpan<byte> input)
    {
        using var driver = new StackDriver(ipv6: true);
        var frame = new byte[Frames.EthernetHeader + 65575];
        driver.Run(input, (d, control, record) =>
        {
            var action = control >> 5;
            if (action == 1)
            {
                if (d.Icmp6.Last is { } flow)
                {
                    d.Stack.OnIcmpv6Reply(flow, record);
                }

                return;
            }

            if (action == 3)
            {
                d.HostError(record);
                return;
            }

            d.Icmp6.Unroutable = action == 2;
            var n = Frames.Ethernet(frame, RouterMac, EtherType.Ipv6, record);
            if ((control & StackDriver.RawChecksums) == 0)
            {
                FixChecksum(frame.AsSpan(Frames.EthernetHeader, n - Frames.EthernetHeader));
            }

            d.Stack.Input(frame.AsSpan(0, n));
        });
    }

    /// <summary>Recomputes the ICMPv6, UDP or TCP checksum of a datagram whose chain reaches one (fragments keep theirs).</summary>
    private static void FixChecksum(Span<byte> datagram)
    {
        if (!Ipv6Packet.TryCreate(datagram, out var ip))
        {
            return;
        }

        var chain = ip.WalkHeaders();
        var at = chain.Protocol switch { IpProtocol.Icmpv6 => 2, IpProtocol.Udp => 6, IpProtocol.Tcp => 16, _ => -1 };
        var l4 = ip.Bytes[Math.Min(chain.UpperOffset, ip.Bytes.Length)..];
        if (!chain.IsComplete || at < 0 || l4.Length < at + 2)
        {
            return;
        }

        if (chain.Protocol == IpProtocol.Udp && l4.Length >= 8)
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)l4.Length);
        }

        l4[at] = l4[at + 1] = 0;
        var sum = Checksum.Finish(Checksum.Add(Checksum.PseudoHeader(ip.Source, ip.Destination, chain.Protocol, l4.Length), l4));
        BinaryPrimitives.WriteUInt16BigEndian(l4[at..], chain.Protocol == IpProtocol.Udp && sum == 0 ? (ushort)0xFFFF : sum);
    }
}
