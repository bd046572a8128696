namespace Netdevd.Core.Clients;

/// <summary>
/// A frame's bytes as up to three consecutive pieces, read in order as one: a frame sent in
/// pieces (its headers, then a payload still in its sender's buffer, possibly wrapped in two), or
/// a whole frame as one piece. Lets a receiver copy such a frame where it goes in one pass
/// instead of first joining it.
/// </summary>
public readonly ref struct FramePieces
{
    public FramePieces(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second = default, ReadOnlySpan<byte> third = default)
    {
        First = first;
        Second = second;
        Third = third;
    }

    public ReadOnlySpan<byte> First { get; }

    public ReadOnlySpan<byte> Second { get; }

    public ReadOnlySpan<byte> Third { get; }

    public int Length => First.Length + Second.Length + Third.Length;

    /// <summary>The bytes from <paramref name="start"/> on (a start past the end leaves nothing).</summary>
    public FramePieces Slice(int start)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (start <= First.Length)
        {
            return new FramePieces(First[start..], Second, Third);
        }

        start -= First.Length;
        if (start <= Second.Length)
        {
            return new FramePieces(Second[start..], Third);
        }

        start -= Second.Length;
        return new FramePieces(Third[Math.Min(start, Third.Length)..]);
    }

    /// <summary>Copies from <paramref name="offset"/> as much as fits into <paramref name="destination"/>; returns the bytes copied.</summary>
    public int CopyTo(int offset, Span<byte> destination)
    {
        var written = 0;
        written += CopyPiece(First, ref offset, destination);
        written += CopyPiece(Second, ref offset, destination[written..]);
        written += CopyPiece(Third, ref offset, destination[written..]);
        return written;
    }

    /// <summary>Copies the whole frame to the start of <paramref name="destination"/> (which must hold it).</summary>
    public void CopyTo(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Length, nameof(destination));
        _ = CopyTo(0, destination);
    }

    // Copies the part of piece at or after offset (offset counts from this piece's start, and is
    // moved on past it) into destination.
    private static int CopyPiece(ReadOnlySpan<byte> piece, ref int offset, Span<byte> destination)
    {
        if (offset >= piece.Length)
        {
            offset -= piece.Length;
            return 0;
        }

        var n = Math.Min(piece.Length - offset, destination.Length);
        piece.Slice(offset, n).CopyTo(destination);
        offset = 0;
        return n;
    }
}
