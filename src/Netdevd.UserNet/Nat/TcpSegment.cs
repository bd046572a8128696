using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>The fields of one guest segment that the state machine reads (parsed once by the stack).</summary>
internal readonly ref struct TcpSegment
{
    public TcpSegment(uint sequence, uint acknowledgment, TcpFlags flags, ushort window, ReadOnlySpan<byte> payload, in TcpOptions options)
    {
        Sequence = sequence;
        Acknowledgment = acknowledgment;
        Flags = flags;
        Window = window;
        Payload = payload;
        Options = options;
    }

    public uint Sequence { get; }

    public uint Acknowledgment { get; }

    public TcpFlags Flags { get; }

    public ushort Window { get; }

    public ReadOnlySpan<byte> Payload { get; }

    public TcpOptions Options { get; }

    public bool Syn => (Flags & TcpFlags.Syn) != 0;

    public bool Ack => (Flags & TcpFlags.Ack) != 0;

    public bool Fin => (Flags & TcpFlags.Fin) != 0;

    public bool Rst => (Flags & TcpFlags.Rst) != 0;

    /// <summary>Sequence space the segment occupies (SYN and FIN count one each).</summary>
    public int Length => Payload.Length + (Syn ? 1 : 0) + (Fin ? 1 : 0);
}
