using System.Buffers.Binary;
using Netdevd.Wire;

namespace Netdevd.Backends.VirtioNet;

/// <summary>
/// Does what a NIC does for VIRTIO_NET_HDR_F_NEEDS_CSUM: sums the frame from csum_start to its end
/// (the field already holds the pseudo-header sum the sender left there) and stores the
/// complement at csum_start + csum_offset.
/// </summary>
public static class ChecksumCompletion
{
    /// <summary>Completes the checksum in place; false when the offsets do not fit the frame (leave it as is).</summary>
    public static bool Complete(Span<byte> frame, int csumStart, int csumOffset)
    {
        var field = csumStart + csumOffset;
        if (csumStart < 0 || field + 2 > frame.Length)
        {
            return false;
        }

        var sum = Checksum.Add(0, frame[csumStart..]);
        var value = Checksum.Finish(sum);

        // UDP says 0 means "no checksum"; a computed 0 is sent as all ones (RFC 768). For TCP the
        // two are the same number in ones' complement, so this is harmless there too.
        if (value == 0)
        {
            value = 0xffff;
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame[field..], value);
        return true;
    }
}
