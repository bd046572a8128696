namespace Netdevd.Backends.VirtioNet;

/// <summary>What <see cref="TcpCoalescer.Offer"/> did with a frame.</summary>
internal enum CoalesceResult
{
    /// <summary>The frame is held: it starts or continues the run.</summary>
    Taken,

    /// <summary>The frame could be merged, but not with the held run: write the run, clear, offer again.</summary>
    FlushFirst,

    /// <summary>The frame is not a TCP segment that can be merged: write the run, then the frame as it is.</summary>
    NotCandidate,
}
