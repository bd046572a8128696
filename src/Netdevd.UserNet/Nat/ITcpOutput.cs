using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// Where a connection puts the segments it sends to the guest. The stack implements it by writing
/// Ethernet+IPv4+TCP straight into an output frame; tests record the segments. The payload comes
/// in two parts because the send buffer is a ring; they are segments of the ring's array.
/// </summary>
internal interface ITcpOutput
{
    /// <returns>True when the frame carries the payload's segments out after the call (its array must then never be pooled again: <see cref="ByteRing.MarkLent"/>).</returns>
    bool Segment(TcpConnection connection, uint sequence, uint acknowledgment, TcpFlags flags, ushort window,
        in TcpOptions options, ArraySegment<byte> payload1, ArraySegment<byte> payload2);
}
