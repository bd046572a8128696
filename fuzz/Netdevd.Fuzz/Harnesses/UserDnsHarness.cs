using System.Buffers.Binary;
using Netdevd.Fuzz.Support;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// The DNS proxy: action 0 sends the record as a query from the guest to 10.0.2.3:53 (from one
/// of four guest ports); action 1 answers the last forwarded query from its resolver with the
/// record, its id set to the upstream id (which is random, so the fuzzer could not guess it);
/// action 2 does the same with the upstream question spliced in after the record's first 12 bytes;
/// action 3 reports an ICMP error for a datagram sent to that resolver, quoting the record with the
/// upstream id in front (bit 0 of the control: the last query's own first bytes instead, as many
/// as the record is long); action 4 makes the host refuse sends (no route) from now on, or accept
/// them again.
/// </summary>
public static class UserDnsHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        using var driver = new StackDriver();
        var answer = new byte[65536];
        driver.Run(input, (d, control, record) =>
        {
            var action = control >> 5;
            if (action == 0 || d.Upstream.Resolver is null)
            {
                d.Udp(Frames.Guest, (ushort)(40000 + (control & 0x03)), Frames.Dns, 53, record, control);
                return;
            }

            var query = d.Upstream.LastQuery;
            if (action == 4)
            {
                d.Upstream.Refusing = !d.Upstream.Refusing;
                return;
            }

            if (action == 3 && (control & 0x01) != 0)
            {
                d.Stack.OnDnsUnreachable(d.Upstream.Resolver, query[..Math.Min(record.Length, query.Length)]);
                return;
            }

            var n = record.Length;
            record.CopyTo(answer);

            if (action == 2 && query.Length > 12 && record.Length >= 12)
            {
                query[12..].CopyTo(answer.AsSpan(12));
                var extra = Math.Min(record.Length - 12, answer.Length - query.Length);
                record.Slice(12, extra).CopyTo(answer.AsSpan(query.Length));
                n = query.Length + extra;
            }

            if (n >= 2 && query.Length >= 2)
            {
                BinaryPrimitives.WriteUInt16BigEndian(answer, BinaryPrimitives.ReadUInt16BigEndian(query));
            }

            if (action == 3)
            {
                d.Stack.OnDnsUnreachable(d.Upstream.Resolver, answer.AsSpan(0, n));
                return;
            }

            d.Stack.OnDnsAnswer(d.Upstream.Resolver, answer.AsSpan(0, n));
        });
    }
}
