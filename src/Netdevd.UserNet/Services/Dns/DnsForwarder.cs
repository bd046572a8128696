using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Netdevd.Wire;

namespace Netdevd.UserNet.Services.Dns;

/// <summary>
/// The guest side of the DNS proxy at the virtual DNS address. Each query gets a fresh random
/// upstream id (so queries from several guest ports cannot collide and answers cannot be guessed),
/// goes to the first resolver through <see cref="IDnsUpstream"/>, and on timeout to the next one;
/// an answer is accepted only from the resolver asked, with the upstream id and the same question,
/// and goes back to the guest with its original id. Pending queries are bounded; when there is no
/// resolver or no room, the guest gets SERVFAIL at once instead of waiting for its own timeout.
/// </summary>
public sealed class DnsForwarder : IDisposable
{
    private readonly IReadOnlyList<IPEndPoint> _resolvers;
    private readonly IDnsUpstream _upstream;
    private readonly TimeProvider _time;
    private readonly int _maxPending;
    private readonly TimeSpan _timeout;
    private readonly Dictionary<ushort, Pending> _pending = [];
    private readonly List<ushort> _expired = [];

    public DnsForwarder(
        IReadOnlyList<IPEndPoint> resolvers,
        IDnsUpstream upstream,
        TimeProvider? time = null,
        int maxPending = 256,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(resolvers);
        ArgumentNullException.ThrowIfNull(upstream);
        _resolvers = resolvers;
        _upstream = upstream;
        _time = time ?? TimeProvider.System;
        _maxPending = maxPending;
        _timeout = timeout ?? TimeSpan.FromSeconds(2);
    }

    public IReadOnlyList<IPEndPoint> Resolvers => _resolvers;

    public int PendingCount => _pending.Count;

    /// <summary>Queries dropped as malformed, and answers dropped as unmatched.</summary>
    public long Dropped { get; private set; }

    /// <summary>Queries that timed out on every resolver.</summary>
    public long TimedOut { get; private set; }

    /// <summary>
    /// Takes a query the guest sent to dns:53. Returns the length of an immediate reply written to
    /// <paramref name="immediateReply"/> (SERVFAIL, same size as the query), or 0 when the query was
    /// forwarded or dropped.
    /// </summary>
    public int HandleQuery(DnsGuestEndpoint guest, ReadOnlySpan<byte> query, Span<byte> immediateReply)
    {
        if (query.Length < DnsMessage.HeaderLength || (query[2] & 0x80) != 0 || query.Length > 65535)
        {
            Dropped++;
            return 0;
        }

        if (_resolvers.Count == 0 || _pending.Count >= _maxPending)
        {
            return ServFail(query, immediateReply);
        }

        ushort id;
        do
        {
            id = (ushort)RandomNumberGenerator.GetInt32(0, 65536);
        }
        while (_pending.ContainsKey(id));

        var buffer = ArrayPool<byte>.Shared.Rent(query.Length);
        query.CopyTo(buffer);
        BinaryPrimitives.WriteUInt16BigEndian(buffer, id);
        var p = new Pending(guest, BinaryPrimitives.ReadUInt16BigEndian(query), buffer, query.Length)
        {
            ResolverIndex = 0,
            SentTimestamp = _time.GetTimestamp(),
        };
        _pending[id] = p;
        _upstream.Send(_resolvers[0], buffer.AsSpan(0, query.Length));
        return 0;
    }

    /// <summary>
    /// Takes a datagram from <paramref name="from"/>. When it answers a pending query, restores
    /// the guest's id in place, sets <paramref name="destination"/> and returns true; the caller
    /// sends <paramref name="answer"/> from dns:53 to the guest.
    /// </summary>
    public bool HandleAnswer(IPEndPoint from, Span<byte> answer, out DnsGuestEndpoint destination)
    {
        destination = default;
        if (answer.Length < DnsMessage.HeaderLength || (answer[2] & 0x80) == 0 ||
            !_pending.TryGetValue(BinaryPrimitives.ReadUInt16BigEndian(answer), out var p) ||
            !from.Equals(_resolvers[p.ResolverIndex]) || !SameQuestion(p.Query, answer))
        {
            Dropped++;
            return false;
        }

        _pending.Remove(BinaryPrimitives.ReadUInt16BigEndian(answer));
        BinaryPrimitives.WriteUInt16BigEndian(answer, p.GuestId);
        destination = p.Guest;
        p.Dispose();
        return true;
    }

    /// <summary>Moves timed-out queries to the next resolver, or gives up on them.</summary>
    public void Poll()
    {
        var now = _time.GetTimestamp();
        foreach (var (id, p) in _pending)
        {
            if (_time.GetElapsedTime(p.SentTimestamp, now) >= _timeout)
            {
                _expired.Add(id);
            }
        }

        foreach (var id in _expired)
        {
            var p = _pending[id];
            if (p.ResolverIndex + 1 < _resolvers.Count)
            {
                p.ResolverIndex++;
                p.SentTimestamp = now;
                _upstream.Send(_resolvers[p.ResolverIndex], p.Query);
            }
            else
            {
                _pending.Remove(id);
                p.Dispose();
                TimedOut++;
            }
        }

        _expired.Clear();
    }

    public void Dispose()
    {
        foreach (var p in _pending.Values)
        {
            p.Dispose();
        }

        _pending.Clear();
    }

    /// <summary>The query echoed back with QR set, RA set and RCODE 2 (SERVFAIL); no answers.</summary>
    private static int ServFail(ReadOnlySpan<byte> query, Span<byte> reply)
    {
        var n = Math.Min(query.Length, reply.Length);
        query[..n].CopyTo(reply);
        reply[2] |= 0x80;
        reply[3] = (byte)((reply[3] & 0x70) | 0x80 | 2);
        reply[6..12].Clear();
        return n;
    }

    /// <summary>Compares the question section (name, type, class) byte for byte, as sent.</summary>
    private static bool SameQuestion(ReadOnlySpan<byte> query, ReadOnlySpan<byte> answer)
    {
        if (query.Length < DnsMessage.HeaderLength || BinaryPrimitives.ReadUInt16BigEndian(query[4..]) == 0)
        {
            return true;
        }

        if (!DnsName.TrySkip(query, DnsMessage.HeaderLength, out var end) || end + 4 > query.Length)
        {
            return true; // we forwarded it as is; nothing reliable to compare
        }

        var length = end + 4 - DnsMessage.HeaderLength;
        return answer.Length >= DnsMessage.HeaderLength + length &&
               Ascii.EqualsIgnoreCase(query.Slice(DnsMessage.HeaderLength, length), answer.Slice(DnsMessage.HeaderLength, length));
    }

    private sealed class Pending(DnsGuestEndpoint guest, ushort guestId, byte[] buffer, int length) : IDisposable
    {
        private byte[]? _buffer = buffer;

        public DnsGuestEndpoint Guest { get; } = guest;

        public ushort GuestId { get; } = guestId;

        public int ResolverIndex { get; set; }

        public long SentTimestamp { get; set; }

        public ReadOnlySpan<byte> Query => _buffer.AsSpan(0, length);

        public void Dispose()
        {
            if (_buffer is { } b)
            {
                ArrayPool<byte>.Shared.Return(b);
                _buffer = null;
            }
        }
    }
}
