using System.Buffers.Binary;
using System.Net;
using System.Text;
using Netdevd.Wire;

namespace Netdevd.UserNet.Services.Dns;

/// <summary>
/// The netdev's own names (<c>dns-host</c>), answered by the DNS proxy without asking upstream:
/// A and AAAA records for a name given, an empty authoritative answer (NODATA) for its other
/// types, so a guest can reach the host by a name (as podman's host.containers.internal) and
/// a name of the test's or user's own resolves even without a host resolver.
/// </summary>
public sealed class DnsHostRecords
{
    /// <summary>The TTL of the answers: short, so a changed netdev is seen soon.</summary>
    public const uint TimeToLive = 60;

    private readonly Record[] _records;

    /// <param name="entries">The parsed entries.</param>
    /// <param name="hostV4">The virtual host's IPv4 address for entries without one (null: IPv4 off).</param>
    /// <param name="hostV6">The virtual host's IPv6 address for entries without one (null: IPv6 off).</param>
    public DnsHostRecords(IReadOnlyList<DnsHostEntry> entries, IPAddress? hostV4, IPAddress? hostV6)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var records = new List<Record>();
        foreach (var e in entries)
        {
            var name = Encode(e.Name);
            if (e.Address is { } a)
            {
                records.Add(new Record(name, a.GetAddressBytes()));
                continue;
            }

            if (hostV4 is not null)
            {
                records.Add(new Record(name, hostV4.GetAddressBytes()));
            }

            if (hostV6 is not null)
            {
                records.Add(new Record(name, hostV6.GetAddressBytes()));
            }

            if (hostV4 is null && hostV6 is null)
            {
                records.Add(new Record(name, []));
            }
        }

        _records = [.. records];
    }

    public int Count => _records.Length;

    /// <summary>The largest reply <see cref="TryAnswer"/> writes for a query of <paramref name="queryLength"/> bytes.</summary>
    public int MaxReplyLength(int queryLength) => queryLength + (_records.Length * (12 + 16));

    /// <summary>
    /// When <paramref name="query"/> is one standard question of class IN (or ANY) for one of the
    /// names, writes the answer to <paramref name="reply"/> and returns its length; otherwise 0
    /// (the query goes upstream).
    /// </summary>
    public int TryAnswer(ReadOnlySpan<byte> query, Span<byte> reply)
    {
        if (_records.Length == 0 || query.Length < DnsMessage.HeaderLength ||
            (query[2] & 0x78) != 0 || // opcode QUERY only
            BinaryPrimitives.ReadUInt16BigEndian(query[4..]) != 1 ||
            !DnsName.TrySkip(query, DnsMessage.HeaderLength, out var nameEnd) || nameEnd + 4 > query.Length)
        {
            return 0;
        }

        var name = query[DnsMessage.HeaderLength..nameEnd];
        var type = BinaryPrimitives.ReadUInt16BigEndian(query[nameEnd..]);
        var qclass = BinaryPrimitives.ReadUInt16BigEndian(query[(nameEnd + 2)..]);
        if (qclass is not (1 or 255) || !Knows(name))
        {
            return 0;
        }

        var questionEnd = nameEnd + 4;
        if (reply.Length < MaxReplyLength(questionEnd))
        {
            return 0;
        }

        query[..questionEnd].CopyTo(reply);
        reply[2] = (byte)(0x80 | (query[2] & 0x79) | 0x04); // QR, opcode and RD kept, AA
        reply[3] = 0x80; // RA, NOERROR
        BinaryPrimitives.WriteUInt16BigEndian(reply[8..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(reply[10..], 0);
        var at = questionEnd;
        ushort answers = 0;
        foreach (var r in _records)
        {
            var rtype = r.Address.Length switch { 4 => (ushort)1, 16 => (ushort)28, _ => (ushort)0 };
            if (rtype == 0 || (type != 255 && type != rtype) || !Ascii.EqualsIgnoreCase(name, r.Name))
            {
                continue;
            }

            BinaryPrimitives.WriteUInt16BigEndian(reply[at..], 0xC000 | DnsMessage.HeaderLength); // the question's name
            BinaryPrimitives.WriteUInt16BigEndian(reply[(at + 2)..], rtype);
            BinaryPrimitives.WriteUInt16BigEndian(reply[(at + 4)..], 1);
            BinaryPrimitives.WriteUInt32BigEndian(reply[(at + 6)..], TimeToLive);
            BinaryPrimitives.WriteUInt16BigEndian(reply[(at + 10)..], (ushort)r.Address.Length);
            r.Address.CopyTo(reply[(at + 12)..]);
            at += 12 + r.Address.Length;
            answers++;
        }

        BinaryPrimitives.WriteUInt16BigEndian(reply[6..], answers);
        return at;
    }

    private bool Knows(ReadOnlySpan<byte> name)
    {
        foreach (var r in _records)
        {
            if (Ascii.EqualsIgnoreCase(name, r.Name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A dotted name in wire form: length-prefixed labels and the root's zero.</summary>
    private static byte[] Encode(string name)
    {
        var bytes = new byte[name.Length + 2];
        var at = 0;
        foreach (var label in name.Split('.'))
        {
            bytes[at++] = (byte)label.Length;
            at += Encoding.ASCII.GetBytes(label, bytes.AsSpan(at));
        }

        return bytes;
    }

    /// <summary>An address of 4 or 16 bytes, or none (a name known with no address of an enabled family).</summary>
    private sealed record Record(byte[] Name, byte[] Address);
}
