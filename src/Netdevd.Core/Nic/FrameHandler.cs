namespace Netdevd.Core.Nic;

/// <summary>Receives one frame; the span is valid only during the call.</summary>
public delegate void FrameHandler(ReadOnlySpan<byte> frame);
