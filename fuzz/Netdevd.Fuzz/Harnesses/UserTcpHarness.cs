using System.Buffers.Binary;
using Netdevd.Fuzz.Support;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// TCP through the user stack's NAT, both sides driven: the guest's segments (header and payload
/// as the record; checksums repaired) and the host socket's events on the newest live connection.
/// Actions: 0 segment to the gateway (host loopback), 1 segment to an outside address,
/// 2 the host sends record-length bytes, 3 the host writes out what it holds, 4 host end of
/// stream, 5 host reset, 6 the connect the next segment starts is refused, 7 the host fills all
/// of the send ring's free space at once (as a readv of a busy socket: what makes a bulk flow's
/// ring grow, its data wrapped or not).
/// Connects succeed between records (as a real connect completes between guest frames).
/// The acknowledgment number of a guest segment is relative to the stack's (random) initial
/// sequence number for that guest port, so inputs replay the same way every time.
/// </summary>
public static class UserTcpHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        using var driver = new StackDriver();
        var segment = new byte[65536];
        driver.Run(input, (d, control, record) =>
        {
            record = Relative(d, record, segment);
            var live = d.Host.Live;
            var c = live.Count > 0 ? live[^1] : null;
            switch (control >> 5)
            {
                case 0:
                    d.Ipv4(Frames.Gateway, Frames.ProtocolTcp, record, control);
                    break;
                case 1:
                    d.Ipv4(Frames.Outside, Frames.ProtocolTcp, record, control);
                    break;
                case 2 when c is not null && c.WantsHostData:
                    var into = c.HostReadBuffer();
                    var n = Math.Min(record.Length, into.Count);
                    record[..n].CopyTo(into.AsSpan());
                    if (n > 0)
                    {
                        d.Stack.OnTcpReceived(c, n);
                    }

                    break;
                case 3 when c is not null:
                    var held = c.HostWriteBuffer();
                    if (held.Count > 0)
                    {
                        d.Stack.OnTcpSent(c, Math.Min(held.Count, record.Length == 0 ? held.Count : record.Length));
                    }

                    break;
                case 4 when c is not null && c.WantsHostData:
                    d.Stack.OnTcpReceived(c, 0);
                    break;
                case 5 when c is not null:
                    d.Stack.OnTcpHostError(c);
                    break;
                case 6:
                    d.Host.RefuseNext = true;
                    d.Ipv4(Frames.Gateway, Frames.ProtocolTcp, record, control);
                    break;
                case 7 when c is not null && c.WantsHostData:
                    c.HostReadBuffers(out var first, out var second);
                    first.AsSpan().Fill(control);
                    second.AsSpan().Fill(control);
                    d.Stack.OnTcpReceived(c, first.Count + second.Count);
                    break;
            }
        });
    }

    private static ReadOnlySpan<byte> Relative(StackDriver d, ReadOnlySpan<byte> record, byte[] segment)
    {
        if (record.Length < 12 || !d.Sink.Iss.TryGetValue(BinaryPrimitives.ReadUInt16BigEndian(record), out var iss))
        {
            return record;
        }

        record.CopyTo(segment);
        var ack = BinaryPrimitives.ReadUInt32BigEndian(record[8..]);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(8), unchecked(ack + iss));
        return segment.AsSpan(0, record.Length);
    }
}
