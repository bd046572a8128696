namespace Netdevd.UserNet.Interface;

/// <summary>
/// Where the stack writes frames for the guest (smoltcp's TxToken): the stack asks for a buffer,
/// writes one frame straight into it, and commits its length. No intermediate copy.
/// </summary>
public interface IFrameSink
{
    /// <summary>A buffer of at least <paramref name="maxLength"/> bytes for the next frame; empty when the sink is full (the frame is dropped).</summary>
    Span<byte> Allocate(int maxLength);

    /// <summary>Hands over the frame written into the last <see cref="Allocate"/> buffer.</summary>
    void Commit(int length);

    /// <summary>
    /// Hands over a frame whose L4 checksum is left to the receiver (virtio-net's NEEDS_CSUM): the
    /// field at <paramref name="checksumStart"/> + <paramref name="checksumOffset"/> holds the
    /// pseudo-header sum, the one's complement sum from <paramref name="checksumStart"/> to the
    /// end is still to be stored there. Only asked for while the stack's checksum offload is on.
    /// </summary>
    void CommitPartialChecksum(int length, int checksumStart, int checksumOffset);
}
