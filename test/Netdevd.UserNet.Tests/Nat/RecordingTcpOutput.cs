using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>One segment a connection sent to the guest.</summary>
internal sealed record SentSegment(uint Seq, uint Ack, TcpFlags Flags, ushort Window, TcpOptions Options, byte[] Payload)
{
    public bool Has(TcpFlags f) => (Flags & f) == f;
}

/// <summary>Records what a connection sends (smoltcp's recv! macro, in a list).</summary>
internal sealed class RecordingTcpOutput : ITcpOutput
{
    public List<SentSegment> Sent { get; } = [];

    public bool Segment(TcpConnection connection, uint sequence, uint acknowledgment, TcpFlags flags, ushort window,
        in TcpOptions options, ArraySegment<byte> payload1, ArraySegment<byte> payload2)
    {
        var payload = new byte[payload1.Count + payload2.Count];
        payload1.AsSpan().CopyTo(payload);
        payload2.AsSpan().CopyTo(payload.AsSpan(payload1.Count));
        Sent.Add(new SentSegment(sequence, acknowledgment, flags, window, options, payload));
        return false;
    }

    public List<SentSegment> Take()
    {
        var list = new List<SentSegment>(Sent);
        Sent.Clear();
        return list;
    }
}
