using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Netdevd.UserNet.Interface;
using Netdevd.Wire;

namespace Netdevd.UserNet.Services.Dns;

/// <summary>
/// The guest side of the DNS proxy at the virtual DNS address. Names of the netdev's own
/// (<see cref="DnsHostRecords"/>) are answered at once. Other queries get a fresh random upstream
/// id (so queries from several guest ports cannot collide and answers cannot be guessed) and go to
/// the host's resolvers as <see cref="IResolverSource"/> has them at that moment (the list follows
/// the host's resolv.conf): to the first, on timeout to the next, every resolver twice in turn; an
/// answer is accepted from any resolver asked so far, with the upstream id and the same question,
/// and goes back to the guest with its original id. An attempt the host refuses at once (no route,
/// the family missing) or that an ICMP error says cannot arrive (nothing listens on the resolver's
/// port, the host is unreachable) does not wait for its timeout: the next attempt goes at once, so
/// a dead first nameserver (a stopped systemd-resolved behind 127.0.0.53, a VPN's resolver with
/// the VPN down) costs the guest nothing. When every attempt failed the guest gets SERVFAIL (before
/// a stub resolver's usual 5 s timeout; at once when the host refused every resolver), and at once
/// when there is no resolver or no room for one more pending query (waiting for an answer, or
/// failed with its SERVFAIL not yet taken: together at most <c>maxPending</c>). A pending query's
/// copy is charged to the netdev's memory budget when one is given; a query that does not fit gets
/// SERVFAIL at once as well.
/// </summary>
public sealed class DnsForwarder : IDisposable
{
    /// <summary>The room <see cref="TakeFailure"/> needs: a header and the longest question.</summary>
    public const int MaxFailureLength = DnsMessage.HeaderLength + 255 + 4;

    /// <summary>How many times each resolver is asked before the query fails.</summary>
    public const int Rounds = 2;

    /// <summary>The time all attempts of one query share when no fixed timeout is given.</summary>
    private static readonly TimeSpan s_budget = TimeSpan.FromSeconds(4);

    private readonly IResolverSource _resolvers;
    private readonly IDnsUpstream _upstream;
    private readonly TimeProvider _time;
    private readonly int _maxPending;
    private readonly TimeSpan? _timeout;
    private readonly DnsHostRecords? _hosts;
    private readonly MemoryBudget? _budget;
    private readonly Dictionary<ushort, Pending> _pending = [];
    private readonly Queue<Pending> _failed = [];
    private readonly List<ushort> _expired = [];

    public DnsForwarder(
        IReadOnlyList<IPEndPoint> resolvers,
        IDnsUpstream upstream,
        TimeProvider? time = null,
        int maxPending = 256,
        TimeSpan? timeout = null,
        DnsHostRecords? hosts = null,
        MemoryBudget? budget = null)
        : this(new FixedResolvers(resolvers ?? throw new ArgumentNullException(nameof(resolvers))), upstream, time, maxPending, timeout, hosts, budget)
    {
    }

    /// <param name="timeout">Each attempt's timeout; null shares 4 s among the attempts (2 s
    /// each for one resolver, 1 s for two), at least 0.5 s each.</param>
    /// <param name="budget">The netdev's memory budget, charged with each pending query's copy
    /// (up to 64 KiB each: 256 of them are 16 MiB the budget would not otherwise see).</param>
    public DnsForwarder(
        IResolverSource resolvers,
        IDnsUpstream upstream,
        TimeProvider? time = null,
        int maxPending = 256,
        TimeSpan? timeout = null,
        DnsHostRecords? hosts = null,
        MemoryBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(resolvers);
        ArgumentNullException.ThrowIfNull(upstream);
        _resolvers = resolvers;
        _upstream = upstream;
        _time = time ?? TimeProvider.System;
        _maxPending = maxPending;
        _timeout = timeout;
        _hosts = hosts;
        _budget = budget;
    }

    /// <summary>The resolvers a query would use now.</summary>
    public IReadOnlyList<IPEndPoint> Resolvers => _resolvers.Current;

    /// <summary>Queries waiting for an answer, and failed ones whose SERVFAIL is not yet taken.</summary>
    public int PendingCount => _pending.Count + _failed.Count;

    /// <summary>Queries dropped as malformed, and answers dropped as unmatched.</summary>
    public long Dropped { get; private set; }

    /// <summary>Queries no resolver answered, timed out or unreachable (each answered with SERVFAIL).</summary>
    public long Failed { get; private set; }

    /// <summary>Queries answered from the netdev's own names.</summary>
    public long LocalAnswers { get; private set; }

    /// <summary>The room <see cref="HandleQuery"/> may need for an immediate reply to a query of <paramref name="queryLength"/> bytes.</summary>
    public int MaxReplyLength(int queryLength) => _hosts is null ? queryLength : Math.Max(queryLength, _hosts.MaxReplyLength(queryLength));

    /// <summary>
    /// Takes a query the guest sent to dns:53. Returns the length of an immediate reply written to
    /// <paramref name="immediateReply"/> (an answer from the netdev's own names, or SERVFAIL), or
    /// 0 when the query was forwarded or dropped.
    /// </summary>
    public int HandleQuery(DnsGuestEndpoint guest, ReadOnlySpan<byte> query, Span<byte> immediateReply)
    {
        if (query.Length < DnsMessage.HeaderLength || (query[2] & 0x80) != 0 || query.Length > 65535)
        {
            Dropped++;
            return 0;
        }

        if (_hosts is not null && _hosts.TryAnswer(query, immediateReply) is var local and > 0)
        {
            LocalAnswers++;
            return local;
        }

        // Failed queries count too: each holds its buffer until its SERVFAIL is taken, which waits
        // while the guest's output is full. A guest that kept asking but read nothing added up to
        // maxPending failed queries per timeout to them, without bound.
        var resolvers = _resolvers.Current;
        if (resolvers.Count == 0 || PendingCount >= _maxPending)
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
        if (_budget is not null && !_budget.TryReserve(buffer.Length, MemoryUse.Transient))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return ServFail(query, immediateReply);
        }

        query.CopyTo(buffer);
        BinaryPrimitives.WriteUInt16BigEndian(buffer, id);
        var p = new Pending(guest, BinaryPrimitives.ReadUInt16BigEndian(query), resolvers, buffer, query.Length, _budget);
        _pending[id] = p;
        if (!TrySend(p, _time.GetTimestamp()))
        {
            // The host refused every resolver at once: nothing will come back.
            _pending.Remove(id);
            p.Dispose();
            Failed++;
            return ServFail(query, immediateReply);
        }

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
            !p.WasAsked(from) || !SameQuestion(p.Query, answer))
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

    /// <summary>
    /// Moves timed-out queries to the next attempt, or, after the last, to the failed ones whose
    /// SERVFAIL <see cref="TakeFailure"/> hands out.
    /// </summary>
    public void Poll()
    {
        var now = _time.GetTimestamp();
        foreach (var (id, p) in _pending)
        {
            if (_time.GetElapsedTime(p.SentTimestamp, now) >= AttemptTimeout(p.Resolvers.Count))
            {
                _expired.Add(id);
            }
        }

        foreach (var id in _expired)
        {
            Retry(id, _pending[id], now);
        }

        _expired.Clear();
    }

    /// <summary>
    /// An ICMP error came back for a datagram sent to <paramref name="resolver"/> (nothing listens
    /// on its port, the host or network is unreachable); <paramref name="sent"/> is the start of
    /// that datagram as the kernel returned it, the upstream id first. When it is the current
    /// attempt of a pending query, that attempt has failed: the next one goes now, or after the
    /// last the query fails (its SERVFAIL waits for <see cref="TakeFailure"/>). An error for an
    /// earlier attempt, or for a query answered since, changes nothing.
    /// </summary>
    public void HandleUnreachable(IPEndPoint resolver, ReadOnlySpan<byte> sent)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        if (sent.Length < 2)
        {
            return;
        }

        var id = BinaryPrimitives.ReadUInt16BigEndian(sent);
        if (_pending.TryGetValue(id, out var p) && resolver.Equals(p.Resolvers[p.Attempt % p.Resolvers.Count]) &&
            sent.Length <= p.Query.Length && sent.SequenceEqual(p.Query[..sent.Length]))
        {
            Retry(id, p, _time.GetTimestamp());
        }
    }

    /// <summary>
    /// Writes the SERVFAIL for the next query that failed on every resolver and returns its
    /// length, with the guest to send it to; 0 when there is none.
    /// </summary>
    public int TakeFailure(Span<byte> reply, out DnsGuestEndpoint guest)
    {
        guest = default;
        if (reply.Length < MaxFailureLength || !_failed.TryPeek(out var p))
        {
            return 0;
        }

        _failed.Dequeue();
        var n = ServFail(p.Query, reply);
        BinaryPrimitives.WriteUInt16BigEndian(reply, p.GuestId);
        guest = p.Guest;
        p.Dispose();
        return n;
    }

    public void Dispose()
    {
        foreach (var p in _pending.Values)
        {
            p.Dispose();
        }

        _pending.Clear();
        while (_failed.TryDequeue(out var p))
        {
            p.Dispose();
        }
    }

    /// <summary>The current attempt of query <paramref name="id"/> failed: the next attempt, or the failed queue after the last.</summary>
    private void Retry(ushort id, Pending p, long now)
    {
        if (p.Attempt + 1 < p.Resolvers.Count * Rounds)
        {
            p.Attempt++;
            if (TrySend(p, now))
            {
                return;
            }
        }

        _pending.Remove(id);
        _failed.Enqueue(p);
        Failed++;
    }

    /// <summary>
    /// Sends the query's current attempt. One the host refuses at once is followed by the next
    /// straight away; false when every resolver in turn was refused, or no attempt is left.
    /// </summary>
    private bool TrySend(Pending p, long now)
    {
        for (var refused = 0; refused < p.Resolvers.Count; refused++)
        {
            if (_upstream.Send(p.Resolvers[p.Attempt % p.Resolvers.Count], p.Query))
            {
                p.SentTimestamp = now;
                return true;
            }

            if (p.Attempt + 1 >= p.Resolvers.Count * Rounds)
            {
                return false;
            }

            p.Attempt++;
        }

        return false;
    }

    private TimeSpan AttemptTimeout(int resolvers)
    {
        if (_timeout is { } fixedTimeout)
        {
            return fixedTimeout;
        }

        var share = s_budget / (Math.Max(1, resolvers) * Rounds);
        return share < TimeSpan.FromMilliseconds(500) ? TimeSpan.FromMilliseconds(500) : share;
    }

    /// <summary>The query echoed back with QR set, RA set and RCODE 2 (SERVFAIL); no answers.</summary>
    private static int ServFail(ReadOnlySpan<byte> query, Span<byte> reply)
    {
        // Only the question is echoed: the query's own EDNS record would be a malformed tail once
        // the counts are cleared.
        var n = Math.Min(query.Length, reply.Length);
        if (BinaryPrimitives.ReadUInt16BigEndian(query[4..]) == 1 &&
            DnsName.TrySkip(query, DnsMessage.HeaderLength, out var nameEnd) && nameEnd + 4 <= n)
        {
            n = nameEnd + 4;
        }

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

    private sealed class Pending(DnsGuestEndpoint guest, ushort guestId, IReadOnlyList<IPEndPoint> resolvers, byte[] buffer, int length, MemoryBudget? budget) : IDisposable
    {
        private byte[]? _buffer = buffer;

        public DnsGuestEndpoint Guest { get; } = guest;

        public ushort GuestId { get; } = guestId;

        /// <summary>The resolvers as they were when the query came (a later change does not move it).</summary>
        public IReadOnlyList<IPEndPoint> Resolvers { get; } = resolvers;

        /// <summary>0 for the first send; the resolver is <c>Resolvers[Attempt % Count]</c>.</summary>
        public int Attempt { get; set; }

        public long SentTimestamp { get; set; }

        public ReadOnlySpan<byte> Query => _buffer.AsSpan(0, length);

        /// <summary>Whether <paramref name="from"/> is one of the resolvers asked so far (a slow first one may still answer).</summary>
        public bool WasAsked(IPEndPoint from)
        {
            var asked = Math.Min(Attempt + 1, Resolvers.Count);
            for (var i = 0; i < asked; i++)
            {
                if (from.Equals(Resolvers[i]))
                {
                    return true;
                }
            }

            return false;
        }

        public void Dispose()
        {
            if (_buffer is { } b)
            {
                budget?.Release(b.Length);
                ArrayPool<byte>.Shared.Return(b);
                _buffer = null;
            }
        }
    }
}
