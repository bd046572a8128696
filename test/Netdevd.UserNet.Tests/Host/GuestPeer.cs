using System.Collections.Concurrent;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// The user netdev's peer in these tests: sends guest frames, records what comes back and on which thread.
/// With <paramref name="vnetHeader"/> it keeps virtio-net headers as a tap with vnet_hdr=on: frames it
/// records are stripped of theirs (kept in <see cref="Headers"/>), frames it injects get one.
/// </summary>
internal sealed class GuestPeer(bool vnetHeader = false) : NetClient("guest", NetClientDriver.Stream)
{
    private readonly byte[] _inject = new byte[VnetHeaderSize + MaxFrameSize];

    public override bool HasVnetHeader => vnetHeader;

    /// <summary>Each recorded frame (without its header) with the virtio-net header it came behind.</summary>
    public ConcurrentQueue<(VirtioNetHeader Header, byte[] Frame)> Headers { get; } = new();

    public ConcurrentQueue<(byte[] Frame, int ThreadId, bool PoolThread, string? ThreadName)> Received { get; } = new();

    private long _dataFrames;
    private long _highestEnd;

    /// <summary>Off: frames are only counted (no copy per frame), for allocation measurements.</summary>
    public bool Record { get; set; } = true;

    /// <summary>TCP segments with payload seen so far.</summary>
    public long DataFrames => Interlocked.Read(ref _dataFrames);

    /// <summary>The highest sequence number + length seen in a TCP segment from the netdev (what the guest may acknowledge).</summary>
    public uint HighestEnd => (uint)Interlocked.Read(ref _highestEnd);

    public void Inject(byte[] frame) => Inject(frame, default);

    /// <summary>Sends a guest frame, behind <paramref name="header"/> when the link carries headers (no allocation).</summary>
    public void Inject(byte[] frame, VirtioNetHeader header)
    {
        if (!UsingVnetHeader)
        {
            Send(frame);
            return;
        }

        _inject.AsSpan(0, VnetHeaderSize).Clear();
        header.Write(_inject);
        frame.CopyTo(_inject, VnetHeaderSize);
        Send(_inject.AsSpan(0, VnetHeaderSize + frame.Length));
    }

    /// <summary>Sends guest frames as one batch, as a tap sends what one read of its queue brought.</summary>
    public void InjectBatch(params byte[][] frames)
    {
        BeginSendBatch();
        try
        {
            foreach (var frame in frames)
            {
                Inject(frame);
            }
        }
        finally
        {
            SendBatchEnd();
        }
    }

    /// <summary>Sends bytes as they are, header or not (a hostile or broken peer).</summary>
    public void InjectRaw(ReadOnlySpan<byte> bytes) => Send(bytes);

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        if (UsingVnetHeader)
        {
            if (Record)
            {
                Headers.Enqueue((VirtioNetHeader.Read(frame), frame[VnetHeaderSize..].ToArray()));
            }

            frame = frame[VnetHeaderSize..];
        }

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

    /// <summary>When set (with <see cref="Record"/> off): the TCP payload the netdev sent, in sequence order, each byte once.</summary>
    public MemoryStream? InOrder { get; set; }

    private uint? _inOrderNext;

    private void Count(ReadOnlySpan<byte> frame)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(frame), frame.Length);
        if (EthernetFrame.TryCreate(bytes, out var eth) && eth.EtherType == EtherType.Ipv4
            && Ipv4Packet.TryCreate(eth.Payload, out var ip) && ip.Protocol == IpProtocol.Tcp
            && TcpPacket.TryCreate(ip.Payload, out var tcp) && tcp.Payload.Length > 0)
        {
            if (InOrder is { } stream)
            {
                // Receive runs under the client's lock: one frame at a time.
                var next = _inOrderNext ?? tcp.SequenceNumber;
                var skip = (int)(next - tcp.SequenceNumber);
                if (skip >= 0 && skip < tcp.Payload.Length)
                {
                    stream.Write(tcp.Payload[skip..]);
                    _inOrderNext = tcp.SequenceNumber + (uint)tcp.Payload.Length;
                }
            }

            Interlocked.Increment(ref _dataFrames);
            Interlocked.Exchange(ref _highestEnd, tcp.SequenceNumber + (uint)tcp.Payload.Length);
        }
    }

    public static bool TryTcp(byte[] frame, out uint sequence, out TcpFlags flags, out int payloadLength)
    {
        sequence = 0;
        flags = 0;
        payloadLength = 0;
        if (!TryTcp(frame, out var tcp))
        {
            return false;
        }

        sequence = tcp.SequenceNumber;
        flags = tcp.Flags;
        payloadLength = tcp.Payload.Length;
        return true;
    }

    /// <summary>The TCP segment in an IPv4 frame from the netdev, as a view over <paramref name="frame"/>.</summary>
    public static bool TryTcp(byte[] frame, out TcpPacket tcp)
    {
        tcp = default;
        return EthernetFrame.TryCreate(frame, out var eth) && eth.EtherType == EtherType.Ipv4
            && Ipv4Packet.TryCreate(eth.Payload, out var ip) && ip.Protocol == IpProtocol.Tcp
            && TcpPacket.TryCreate(ip.Payload, out tcp);
    }
}
