namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>One descriptor's buffer, translated: memory the driver lent, and its direction.</summary>
public readonly record struct RingBuffer(HostRange Range, bool Writable)
{
    public int Length => Range.Length;

    /// <summary>The bytes; valid while the memory table that translated them is mapped.</summary>
    public Span<byte> Span => Range.Span;
}
