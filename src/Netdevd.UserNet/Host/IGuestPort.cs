namespace Netdevd.UserNet.Host;

/// <summary>Hands a frame to the guest side (the user netdev's peer).</summary>
internal interface IGuestPort
{
    void Deliver(ReadOnlySpan<byte> frame);

    /// <summary>The frames delivered until <see cref="EndBatch"/> are one batch (the receiver may coalesce them).</summary>
    void BeginBatch();

    void EndBatch();

    /// <summary>Counts and logs (once) a fault of the user netdev; false when faults must propagate (NetClient.ContainFault).</summary>
    bool ContainFault(Exception fault, object layer);
}
