using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Netdevd.Wire;

/// <summary>
/// View over an Ethernet II frame (no FCS). Contract for every view in this namespace (smoltcp's
/// wire contract): after <see cref="TryCreate"/> succeeds no accessor can throw, whatever the
/// bytes; <see cref="CreateUnchecked"/> is for emission into a buffer the caller sized.
/// </summary>
/// <remarks>
/// The accessors a frame's way through the user netdev reads (here and in the IPv4, ICMP, MAC
/// address and checksum types) are marked for inlining: inside the stack's large input methods
/// the AOT compiler left them as calls, ~260 instructions of a gateway echo (bench/README,
/// session 31).
/// </remarks>
public readonly ref struct EthernetFrame
{
    public const int HeaderLength = 14;

    /// <summary>Shortest frame on the wire without FCS; shorter frames are zero-padded on output.</summary>
    public const int MinimumLength = 60;

    private readonly Span<byte> _b;

    private EthernetFrame(Span<byte> buffer) => _b = buffer;

    public static EthernetFrame CreateUnchecked(Span<byte> buffer) => new(buffer);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryCreate(Span<byte> buffer, out EthernetFrame frame)
    {
        frame = new EthernetFrame(buffer);
        return buffer.Length >= HeaderLength;
    }

    public Span<byte> Bytes => _b;

    public MacAddress Destination
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => MacAddress.Read(_b);
        set => value.WriteTo(_b);
    }

    public MacAddress Source
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => MacAddress.Read(_b[6..]);
        set => value.WriteTo(_b[6..]);
    }

    public ushort EtherType
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => BinaryPrimitives.ReadUInt16BigEndian(_b[12..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[12..], value);
    }

    public Span<byte> Payload
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => _b[HeaderLength..];
    }

    /// <summary>
    /// The EtherType of what the frame carries past at most one 802.1Q tag, and the offset where
    /// that starts (the link headers' length); false when the tag is cut short.
    /// </summary>
    public bool TryGetCarried(out ushort etherType, out int offset)
    {
        etherType = EtherType;
        offset = HeaderLength;
        if (etherType != Wire.EtherType.Vlan)
        {
            return true;
        }

        if (!VlanHeader.TryCreate(Payload, out var vlan))
        {
            return false;
        }

        etherType = vlan.EtherType;
        offset += VlanHeader.HeaderLength;
        return true;
    }

    /// <summary>Writes the 14-byte header; returns the header length.</summary>
    public static int WriteHeader(Span<byte> buffer, MacAddress destination, MacAddress source, ushort etherType)
    {
        var f = new EthernetFrame(buffer);
        f.Destination = destination;
        f.Source = source;
        f.EtherType = etherType;
        return HeaderLength;
    }
}
