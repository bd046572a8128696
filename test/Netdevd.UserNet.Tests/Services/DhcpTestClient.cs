using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Services;

/// <summary>Builds client requests the way busybox udhcpc does (options 53 first, then 50/54, 55).</summary>
internal static class DhcpTestClient
{
    public static byte[] Request(
        DhcpMessageType type,
        MacAddress mac,
        uint xid = 0x11223344,
        Ipv4Address? requested = null,
        Ipv4Address? serverId = null,
        Ipv4Address? ciaddr = null,
        bool bootp = false)
    {
        var b = new byte[300];
        var m = DhcpMessage.CreateUnchecked(b);
        m.Clear();
        m.Op = DhcpMessage.OpRequest;
        m.HardwareType = 1;
        m.HardwareLength = 6;
        m.TransactionId = xid;
        m.ClientHardwareAddress = mac;
        if (ciaddr is { } c)
        {
            m.ClientAddress = c;
        }

        if (bootp)
        {
            b.AsSpan(236, 4).Clear();
            return b;
        }

        var w = new DhcpOptionWriter(b.AsSpan(DhcpMessage.OptionsOffset));
        w.WriteByte(DhcpOption.MessageType, (byte)type);
        if (requested is { } r)
        {
            w.WriteAddress(DhcpOption.RequestedIpAddress, r);
        }

        if (serverId is { } s)
        {
            w.WriteAddress(DhcpOption.ServerIdentifier, s);
        }

        w.Write(DhcpOption.ParameterRequestList, [1, 3, 6, 12, 15, 28, 42, 119]);
        w.WriteEnd();
        return b;
    }
}
