namespace Netdevd.Core.Clients;

/// <summary>Counters of one client. Updated on the data path with plain increments under the client's lock.</summary>
public sealed class NetClientStats
{
    public long ReceivedFrames { get; internal set; }

    public long ReceivedBytes { get; internal set; }

    public long SentFrames { get; internal set; }

    public long SentBytes { get; internal set; }

    /// <summary>Frames for this client dropped because its queue was full, the link was down or the frame too large.</summary>
    public long Dropped { get; internal set; }

    /// <summary>Frames queued because this client was busy.</summary>
    public long Queued { get; internal set; }

    internal void CountDrop() => Dropped++;
}
