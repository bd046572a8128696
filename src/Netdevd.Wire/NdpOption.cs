using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// Neighbor Discovery option types (RFC 4861 4.6, RFC 8106) and their writers. Every option is a
/// type, a length in 8-byte units (never 0) and a body; writers return the bytes written.
/// </summary>
public static class NdpOption
{
    public const byte SourceLinkLayerAddress = 1;
    public const byte TargetLinkLayerAddress = 2;
    public const byte PrefixInformation = 3;
    public const byte RedirectedHeader = 4;
    public const byte Mtu = 5;
    public const byte RecursiveDnsServer = 25;
    public const byte DnsSearchList = 31;

    public const int LinkLayerAddressLength = 8;
    public const int PrefixInformationLength = 32;
    public const int MtuLength = 8;

    /// <summary>A lifetime of all ones: forever (RFC 4861 4.6.2).</summary>
    public const uint Infinity = 0xFFFF_FFFF;

    public static int WriteLinkLayerAddress(Span<byte> buffer, byte type, MacAddress mac)
    {
        buffer[0] = type;
        buffer[1] = 1;
        mac.WriteTo(buffer[2..]);
        return LinkLayerAddressLength;
    }

    public static int WritePrefixInformation(Span<byte> buffer, Ipv6Address prefix, int prefixLength, bool onLink, bool autonomous, uint validLifetime, uint preferredLifetime)
    {
        buffer[0] = PrefixInformation;
        buffer[1] = PrefixInformationLength / 8;
        buffer[2] = (byte)prefixLength;
        buffer[3] = (byte)((onLink ? 0x80 : 0) | (autonomous ? 0x40 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], validLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[8..], preferredLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[12..], 0);
        prefix.Prefix(prefixLength).WriteTo(buffer[16..]);
        return PrefixInformationLength;
    }

    public static int WriteMtu(Span<byte> buffer, uint mtu)
    {
        buffer[0] = Mtu;
        buffer[1] = 1;
        buffer[2] = 0;
        buffer[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], mtu);
        return MtuLength;
    }

    /// <summary>The RDNSS option's length for <paramref name="count"/> servers.</summary>
    public static int RdnssLength(int count) => 8 + (16 * count);

    /// <summary>RFC 8106 5.1: reserved, lifetime, then the servers.</summary>
    public static int WriteRdnss(Span<byte> buffer, uint lifetime, ReadOnlySpan<Ipv6Address> servers)
    {
        var length = RdnssLength(servers.Length);
        buffer[0] = RecursiveDnsServer;
        buffer[1] = (byte)(length / 8);
        buffer[2] = 0;
        buffer[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], lifetime);
        for (var i = 0; i < servers.Length; i++)
        {
            servers[i].WriteTo(buffer[(8 + (16 * i))..]);
        }

        return length;
    }

    /// <summary>
    /// The DNSSL option (RFC 8106 5.2) for already encoded names (uncompressed RFC 1035 labels, each
    /// ending with the zero byte): reserved, lifetime, the names, zero padding to 8 bytes. 0 when
    /// the names are empty or the option would pass the 2040-byte limit of its length field.
    /// </summary>
    public static int WriteDnssl(Span<byte> buffer, uint lifetime, ReadOnlySpan<byte> encodedNames)
    {
        var length = DnsslLength(encodedNames.Length);
        if (encodedNames.IsEmpty || length > 255 * 8 || length > buffer.Length)
        {
            return 0;
        }

        buffer[0] = DnsSearchList;
        buffer[1] = (byte)(length / 8);
        buffer[2] = 0;
        buffer[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], lifetime);
        encodedNames.CopyTo(buffer[8..]);
        buffer[(8 + encodedNames.Length)..length].Clear();
        return length;
    }

    public static int DnsslLength(int encodedNamesLength) => (8 + encodedNamesLength + 7) & ~7;
}
