using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// View over an ARP packet (RFC 826). Only Ethernet/IPv4 ARP has fixed offsets, so
/// <see cref="TryCreate"/> demands the 28 bytes of that form; <see cref="IsEthernetIpv4"/> tells
/// whether the hardware/protocol fields actually say so (check it before trusting addresses).
/// </summary>
public readonly ref struct ArpPacket
{
    public const int Length = 28;
    public const ushort HardwareEthernet = 1;
    public const ushort OperationRequest = 1;
    public const ushort OperationReply = 2;

    private readonly Span<byte> _b;

    private ArpPacket(Span<byte> buffer) => _b = buffer;

    public static ArpPacket CreateUnchecked(Span<byte> buffer) => new(buffer);

    public static bool TryCreate(Span<byte> buffer, out ArpPacket packet)
    {
        packet = new ArpPacket(buffer);
        return buffer.Length >= Length;
    }

    public ushort HardwareType
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b, value);
    }

    public ushort ProtocolType
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], value);
    }

    public byte HardwareLength
    {
        get => _b[4];
        set => _b[4] = value;
    }

    public byte ProtocolLength
    {
        get => _b[5];
        set => _b[5] = value;
    }

    public ushort Operation
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[6..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[6..], value);
    }

    public MacAddress SenderHardwareAddress
    {
        get => MacAddress.Read(_b[8..]);
        set => value.WriteTo(_b[8..]);
    }

    public Ipv4Address SenderProtocolAddress
    {
        get => Ipv4Address.Read(_b[14..]);
        set => value.WriteTo(_b[14..]);
    }

    public MacAddress TargetHardwareAddress
    {
        get => MacAddress.Read(_b[18..]);
        set => value.WriteTo(_b[18..]);
    }

    public Ipv4Address TargetProtocolAddress
    {
        get => Ipv4Address.Read(_b[24..]);
        set => value.WriteTo(_b[24..]);
    }

    public bool IsEthernetIpv4 =>
        HardwareType == HardwareEthernet && ProtocolType == Wire.EtherType.Ipv4 &&
        HardwareLength == MacAddress.Length && ProtocolLength == Ipv4Address.Length;

    /// <summary>Writes a whole Ethernet/IPv4 ARP packet (28 bytes); returns its length.</summary>
    public static int Write(
        Span<byte> buffer,
        ushort operation,
        MacAddress senderMac,
        Ipv4Address senderIp,
        MacAddress targetMac,
        Ipv4Address targetIp)
    {
        var p = new ArpPacket(buffer)
        {
            HardwareType = HardwareEthernet,
            ProtocolType = Wire.EtherType.Ipv4,
            HardwareLength = MacAddress.Length,
            ProtocolLength = Ipv4Address.Length,
            Operation = operation,
            SenderHardwareAddress = senderMac,
            SenderProtocolAddress = senderIp,
            TargetHardwareAddress = targetMac,
            TargetProtocolAddress = targetIp,
        };
        _ = p;
        return Length;
    }
}
