using Netdevd.Native;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>A translated range: where in which mapping a guest (or front-end) address range lies.</summary>
public readonly record struct HostRange(SharedMapping Mapping, long Offset, int Length)
{
    /// <summary>The bytes; valid while the memory table that translated them is mapped.</summary>
    public Span<byte> Span => Mapping is null ? default : Mapping.Span(Offset, Length);

    /// <summary>A part of this range (checked against it).</summary>
    public Span<byte> Slice(int offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)offset + (uint)length, (uint)Length);
        return Mapping.Span(Offset + offset, length);
    }
}
