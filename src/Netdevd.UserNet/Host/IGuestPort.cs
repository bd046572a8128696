namespace Netdevd.UserNet.Host;

/// <summary>Hands a frame to the guest side (the user netdev's peer).</summary>
internal interface IGuestPort
{
    /// <summary>
    /// Sends the frame of <paramref name="length"/> bytes that starts at
    /// <see cref="GuestOutputQueue.Headroom"/> in <paramref name="buffer"/>; the headroom is the
    /// port's to write a virtio-net header into.
    /// </summary>
    void Deliver(Span<byte> buffer, int length, GuestChecksum checksum);

    /// <summary>
    /// As <see cref="Deliver"/> for a frame in pieces: its <paramref name="headLength"/> bytes of
    /// headers at <see cref="GuestOutputQueue.Headroom"/> in <paramref name="buffer"/>, its
    /// payload in <paramref name="body1"/> and <paramref name="body2"/>; its L4 checksum is left to
    /// the receiver (<paramref name="checksum"/>).
    /// </summary>
    void DeliverGather(Span<byte> buffer, int headLength, GuestChecksum checksum, ArraySegment<byte> body1, ArraySegment<byte> body2);

    /// <summary>The frames delivered until <see cref="EndBatch"/> are one batch (the receiver may coalesce them).</summary>
    void BeginBatch();

    void EndBatch();

    /// <summary>Counts and logs (once) a fault of the user netdev; false when faults must propagate (NetClient.ContainFault).</summary>
    bool ContainFault(Exception fault, object layer);
}
