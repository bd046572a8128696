using Netdevd.Wire;

namespace Netdevd.UserNet.Interface;

/// <summary>
/// Cuts an IPv4 frame for the guest that is larger than the guest link's MTU into fragments
/// (RFC 791 §3.2), as slirp's ip_output does at its interface MTU: the same identification on
/// every piece, data in multiples of 8 bytes, More Fragments on all but the last, the header
/// checksum of each piece recomputed. The guest's kernel reassembles them. A UDP answer or an
/// echo reply of several kilobytes would otherwise reach the guest as one frame its NIC can drop.
/// </summary>
internal sealed class Ipv4Fragmenter
{
    private byte[] _copy = [];

    /// <summary>
    /// Whether <paramref name="frame"/> (Ethernet + IPv4) must be fragmented for a link of
    /// <paramref name="mtu"/> bytes: longer than it, not TCP (TCP segments follow the guest's own
    /// MSS), and not already a fragment.
    /// </summary>
    public static bool Needs(Span<byte> frame, int mtu)
    {
        if (frame.Length <= EthernetFrame.HeaderLength + mtu || !Ipv4Packet.TryCreate(frame[EthernetFrame.HeaderLength..], out var ip))
        {
            return false;
        }

        return ip.TotalLength > mtu && ip.Protocol != IpProtocol.Tcp && !ip.IsFragment;
    }

    /// <summary>
    /// Writes the fragments of <paramref name="frame"/> into <paramref name="sink"/>, one
    /// Allocate/Commit each; <paramref name="frame"/> may be the sink's own pending buffer (it is
    /// copied first). Returns the fragments written; fewer than needed when the sink filled up
    /// (the guest then drops the incomplete datagram after its reassembly timeout).
    /// </summary>
    public int Write(ReadOnlySpan<byte> frame, int mtu, IFrameSink sink)
    {
        if (_copy.Length < frame.Length)
        {
            _copy = new byte[Math.Max(frame.Length, 64 * 1024 + 64)];
        }

        frame.CopyTo(_copy);
        var whole = _copy.AsSpan(0, frame.Length);
        var ipStart = EthernetFrame.HeaderLength;
        var original = Ipv4Packet.CreateUnchecked(whole[ipStart..]);
        var headerLength = original.HeaderLength;
        var data = whole.Slice(ipStart + headerLength, original.TotalLength - headerLength);

        // Each piece carries the largest multiple of 8 that fits the MTU behind the header.
        var chunk = (mtu - headerLength) & ~7;
        var written = 0;
        for (var offset = 0; offset < data.Length; offset += chunk)
        {
            var length = Math.Min(chunk, data.Length - offset);
            var size = ipStart + headerLength + length;
            var piece = sink.Allocate(Math.Max(size, EthernetFrame.MinimumLength));
            if (piece.Length < size)
            {
                break;
            }

            whole[..(ipStart + headerLength)].CopyTo(piece);
            data.Slice(offset, length).CopyTo(piece[(ipStart + headerLength)..]);
            var ip = Ipv4Packet.CreateUnchecked(piece[ipStart..]);
            ip.TotalLength = (ushort)(headerLength + length);
            ip.DontFragment = false;
            ip.FragmentOffset = offset;
            ip.MoreFragments = offset + length < data.Length;
            ip.FillChecksum();
            if (size < EthernetFrame.MinimumLength)
            {
                piece[size..EthernetFrame.MinimumLength].Clear();
                size = EthernetFrame.MinimumLength;
            }

            sink.Commit(size);
            written++;
        }

        return written;
    }
}
