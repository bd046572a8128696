namespace Netdevd.UserNet.Interface;

/// <summary>
/// A frame sink that also takes frames in pieces: the headers written into the last
/// <see cref="IFrameSink.Allocate"/> buffer, the payload left where it is (a TCP send ring's
/// segments) until the frame goes out, so that a peer writing with a vectored call copies it once.
/// </summary>
public interface IGatherFrameSink : IFrameSink
{
    /// <summary>
    /// Hands over a frame of <paramref name="headLength"/> bytes of headers in the last
    /// <see cref="IFrameSink.Allocate"/> buffer followed by <paramref name="body1"/> and
    /// <paramref name="body2"/>, its L4 checksum left to the receiver as for
    /// <see cref="IFrameSink.CommitPartialChecksum"/>. The bodies' bytes must stay as they are
    /// until the frame has gone out.
    /// </summary>
    void CommitPartialChecksumGather(int headLength, int checksumStart, int checksumOffset, ArraySegment<byte> body1, ArraySegment<byte> body2);
}
