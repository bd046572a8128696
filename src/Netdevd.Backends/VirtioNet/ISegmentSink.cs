namespace Netdevd.Backends.VirtioNet;

/// <summary>Takes the plain frames that software offload resolution produces, one at a time.</summary>
public interface ISegmentSink
{
    /// <summary>
    /// One finished frame; the span is reused for the next one, so copy or deliver it now.
    /// The span is writable so that the sink may pad it in place.
    /// </summary>
    void OnSegment(Span<byte> frame);
}
