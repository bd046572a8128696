using System.Buffers.Binary;
using Netdevd.Fuzz.Support;
using Netdevd.UserNet.Services;
using Netdevd.Wire;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// DHCPv6 messages (the UDP payload) as a guest's client sends them, into a stack that assigns
/// fec0::15 (ipv6-dhcp-address): from its link-local address to ff02::1:2 (action 0) or to the
/// router's address (action 1). Each record also goes straight to a server of the same setup,
/// whose answer must be an Advertise or Reply with our server identifier and options that lie
/// within it (read back with the server's own reader), and one only where the message was a
/// Solicit, Request, Confirm, Renew, Rebind or Information-request.
/// </summary>
public static class UserDhcpv6Harness
{
    private static readonly byte[] AllDhcpServersMac = [0x33, 0x33, 0, 1, 0, 2];
    private static readonly byte[] RouterMac = [0x52, 0x56, 0, 0, 0, 2];
    private static readonly Ipv6Address GuestLinkLocal = new(0xFE80_0000_0000_0000UL, 0x5054_00FF_FE12_3456UL);
    private static readonly Ipv6Address Router = new(0xFEC0_0000_0000_0000UL, 2);
    private static readonly Ipv6Address Assigned = new(0xFEC0_0000_0000_0000UL, 0x15);

    /// <summary>The server's DUID-LL: the router's MAC 52:56:00:00:00:02.</summary>
    private static readonly byte[] ServerDuid = [0, 3, 0, 1, 0x52, 0x56, 0, 0, 0, 2];

    public static void Run(ReadOnlySpan<byte> input)
    {
        using var driver = new StackDriver(ipv6: true, ipv6DhcpAddress: Assigned);
        var server = new Dhcpv6Server(new Ipv6Address(0xFEC0_0000_0000_0000UL, 3), [], MacAddress.Create(0x52, 0x56, 0, 0, 0, 2), Assigned);
        var reply = new byte[server.MaxReplyLength];
        var frame = new byte[Frames.EthernetHeader + 40 + 8 + 65535];
        driver.Run(input, (d, control, record) =>
        {
            CheckDirect(server, record, reply);
            var toRouter = (control >> 5) == 1;
            var n = Datagram(frame, toRouter ? RouterMac : AllDhcpServersMac, toRouter ? Router : Ipv6Address.AllDhcpServers, record);
            d.Stack.Input(frame.AsSpan(0, n));
        });
    }

    private static void CheckDirect(Dhcpv6Server server, ReadOnlySpan<byte> request, byte[] reply)
    {
        var n = server.Handle(request, reply);
        if (n == 0)
        {
            return;
        }

        var answer = reply.AsSpan(0, n);
        if (request[0] is not (1 or 3 or 4 or 5 or 6 or 11) || answer[0] != (request[0] == 1 ? 2 : 7) || !answer[1..4].SequenceEqual(request[1..4]))
        {
            throw new FuzzFindingException($"message type {request[0]} got an answer of type {answer[0]} or another transaction id");
        }

        // The stateless Reply may echo a client identifier longer than a DUID (as libslirp takes
        // up to 256 octets), which the stateful reader refuses: those are checked by their walk.
        if (Dhcpv6ClientMessage.TryParse(answer, out var parsed))
        {
            if (!parsed.ServerId.SequenceEqual(ServerDuid))
            {
                throw new FuzzFindingException("an answer without our server identifier");
            }
        }
        else if (request[0] != 11)
        {
            throw new FuzzFindingException("a stateful answer whose options do not read back");
        }
    }

    /// <summary>Ethernet, IPv6 from the guest's link-local address and UDP 546 to 547 with a correct checksum.</summary>
    private static int Datagram(Span<byte> frame, ReadOnlySpan<byte> mac, Ipv6Address destination, ReadOnlySpan<byte> payload)
    {
        var udpLength = Math.Min(8 + payload.Length, 65535);
        var ip = frame[Frames.EthernetHeader..];
        ip[..40].Clear();
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)udpLength);
        ip[6] = 17;
        ip[7] = 1;
        GuestLinkLocal.WriteTo(ip[8..]);
        destination.WriteTo(ip[24..]);
        var udp = ip.Slice(40, udpLength);
        Frames.Udp(udp, 546, 547, payload[..(udpLength - 8)]);
        var sum = Checksum.Finish(Checksum.Add(Checksum.PseudoHeader(GuestLinkLocal, destination, IpProtocol.Udp, udp.Length), udp));
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], sum == 0 ? (ushort)0xFFFF : sum);
        var header = Frames.Ethernet(frame, mac, EtherType.Ipv6, []);
        return header + 40 + udpLength;
    }
}
