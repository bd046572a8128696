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

    /// <summary>The frames delivered until <see cref="EndBatch"/> are one batch (the receiver may coalesce them).</summary>
    void BeginBatch();

    void EndBatch();

    /// <summary>Counts and logs (once) a fault of the user netdev; false when faults must propagate (NetClient.ContainFault).</summary>
    bool ContainFault(Exception fault, object layer);
}
