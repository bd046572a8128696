using System.Collections.Concurrent;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>The user netdev's peer in these tests: sends guest frames, records what comes back and on which thread.</summary>
internal sealed class GuestPeer() : NetClient("guest", NetClientDriver.Stream)
{
    public ConcurrentQueue<(byte[] Frame, int ThreadId, bool PoolThread, string? ThreadName)> Received { get; } = new();

    private long _dataFrames;
    private long _highestEnd;

    /// <summary>Off: frames are only counted (no copy per frame), for allocation measurements.</summary>
    public bool Record { get; set; } = true;

    /// <summary>TCP segments with payload seen so far.</summary>
    public long DataFrames => Interlocked.Read(ref _dataFrames);

    /// <summary>The highest sequence number + length seen in a TCP segment from the netdev (what the guest may acknowledge).</summary>
    public uint HighestEnd => (uint)Interlocked.Read(ref _highestEnd);

    public void Inject(byte[] frame) => Send(frame);

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        if (!Record)
        {
            Count(frame);
            return ReceiveResult.Accepted;
        }

        var thread = Thread.CurrentThread;
        Received.Enqueue((frame.ToArray(), Environment.CurrentManagedThreadId, thread.IsThreadPoolThread, thread.Name));
        return ReceiveResult.Accepted;
    }

    /// <summary>Waits (bounded, not timed) for a TCP segment from the netdev matching <paramref name="match"/>.</summary>
    public async Task<(uint Sequence, TcpFlags Flags, int PayloadLength)> WaitForTcpAsync(Func<TcpFlags, int, bool> match, int skip = 0)
    {
        for (var i = 0; i < 2000; i++)
        {
            var seen = 0;
            foreach (var (frame, _, _, _) in Received)
            {
                if (TryTcp(frame, out var seq, out var flags, out var length) && match(flags, length) && seen++ >= skip)
                {
                    return (seq, flags, length);
                }
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException("no such TCP segment from the netdev");
    }

    private void Count(ReadOnlySpan<byte> frame)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(frame), frame.Length);
        if (EthernetFrame.TryCreate(bytes, out var eth) && eth.EtherType == EtherType.Ipv4
            && Ipv4Packet.TryCreate(eth.Payload, out var ip) && ip.Protocol == IpProtocol.Tcp
            && TcpPacket.TryCreate(ip.Payload, out var tcp) && tcp.Payload.Length > 0)
        {
            Interlocked.Increment(ref _dataFrames);
            Interlocked.Exchange(ref _highestEnd, tcp.SequenceNumber + (uint)tcp.Payload.Length);
        }
    }

    public static bool TryTcp(byte[] frame, out uint sequence, out TcpFlags flags, out int payloadLength)
    {
        sequence = 0;
        flags = 0;
        payloadLength = 0;
        if (!EthernetFrame.TryCreate(frame, out var eth) || eth.EtherType != EtherType.Ipv4
            || !Ipv4Packet.TryCreate(eth.Payload, out var ip) || ip.Protocol != IpProtocol.Tcp
            || !TcpPacket.TryCreate(ip.Payload, out var tcp))
        {
            return false;
        }

        sequence = tcp.SequenceNumber;
        flags = tcp.Flags;
        payloadLength = tcp.Payload.Length;
        return true;
    }
}
