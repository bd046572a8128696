using System.Buffers.Binary;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Hardening;

/// <summary>IPv4 fragments built byte by byte, with any header length, offset and flags a hostile guest may choose.</summary>
internal static class RawFragments
{
    /// <summary>
    /// One guest frame carrying an IPv4 fragment: <paramref name="optionsLength"/> bytes of NOP
    /// options (header length 20 + that), <paramref name="payload"/> at byte <paramref name="offset"/>.
    /// </summary>
    public static byte[] Frame(Ipv4Address destination, byte protocol, ushort identification, int offset, bool more, ReadOnlySpan<byte> payload,
        int optionsLength = 0, Ipv4Address? source = null)
    {
        var headerLength = Ipv4Packet.MinimumHeaderLength + optionsLength;
        var frame = new byte[EthernetFrame.HeaderLength + headerLength + payload.Length];
        var n = EthernetFrame.WriteHeader(frame, MacAddress.Create(0x52, 0x55, 10, 0, 2, 2), GuestFrames.GuestMac, EtherType.Ipv4);
        var ipBytes = frame.AsSpan(n);
        Ipv4Packet.WriteHeader(ipBytes, source ?? GuestFrames.Guest, destination, protocol, headerLength - Ipv4Packet.MinimumHeaderLength + payload.Length, identification);
        ipBytes[0] = (byte)(0x40 | (headerLength / 4));
        ipBytes.Slice(Ipv4Packet.MinimumHeaderLength, optionsLength).Fill(1); // NOP options
        BinaryPrimitives.WriteUInt16BigEndian(ipBytes[6..], (ushort)((more ? 0x2000 : 0) | (offset / 8)));
        payload.CopyTo(ipBytes[headerLength..]);
        Ipv4Packet.CreateUnchecked(ipBytes).FillChecksum();
        return frame;
    }
}
