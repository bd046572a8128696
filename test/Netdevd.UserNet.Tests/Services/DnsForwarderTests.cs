using System.Net;
using Microsoft.Extensions.Time.Testing;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Services.Dns;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Services;

public sealed class DnsForwarderTests
{
    private static readonly DnsGuestEndpoint Guest = new(Ipv4Address.Create(10, 0, 2, 15), 33333);
    private static readonly IPEndPoint R1 = new(IPAddress.Parse("127.0.0.53"), 53);
    private static readonly IPEndPoint R2 = new(IPAddress.Parse("192.0.2.1"), 53);

    private static byte[] Query(ushort id) =>
        Bytes.Hex($"{id:x4} 0100 0001 0000 0000 0000 076578616d706c65036f726700 0001 0001");

    private static byte[] AnswerFor(ReadOnlySpan<byte> sentQuery)
    {
        var a = sentQuery.ToArray().Concat(Bytes.Hex("c00c 0001 0001 0000003c 0004 5db8d822")).ToArray();
        a[2] = 0x81;
        a[3] = 0x80;
        a[7] = 1;
        return a;
    }

    [Fact]
    public void Forwards_with_a_fresh_id_and_restores_the_guests_id()
    {
        var up = new RecordingUpstream();
        using var f = new DnsForwarder([R1, R2], up);
        Assert.Equal(0, f.HandleQuery(Guest, Query(0xBEEF), new byte[512]));
        var (to, sent) = Assert.Single(up.Sent);
        Assert.Equal(R1, to);
        Assert.Equal(Query(0xBEEF).AsSpan(2).ToArray(), sent.AsSpan(2).ToArray());
        Assert.Equal(1, f.PendingCount);

        var answer = AnswerFor(sent);
        Assert.True(f.HandleAnswer(R1, answer, out var dest));
        Assert.Equal(Guest, dest);
        Assert.Equal("beef", Bytes.ToHex(answer.AsSpan(0, 2)));
        Assert.Equal(0, f.PendingCount);
        Assert.False(f.HandleAnswer(R1, AnswerFor(sent), out _)); // replay
    }

    [Fact]
    public void Rejects_answers_from_wrong_source_wrong_question_or_queries()
    {
        var up = new RecordingUpstream();
        using var f = new DnsForwarder([R1], up);
        f.HandleQuery(Guest, Query(1), new byte[512]);
        var sent = up.Sent[0].Data;
        Assert.False(f.HandleAnswer(R2, AnswerFor(sent), out _));
        var wrong = AnswerFor(sent);
        wrong[13] = (byte)'X';
        Assert.False(f.HandleAnswer(R1, wrong, out _));
        Assert.False(f.HandleAnswer(R1, sent.ToArray(), out _)); // QR clear: not an answer
        var mixedCase = AnswerFor(sent);
        mixedCase[13] = (byte)'E'; // DNS 0x20 case randomisation is still the same question
        Assert.True(f.HandleAnswer(R1, mixedCase, out _));
        Assert.Equal(3, f.Dropped);
    }

    [Fact]
    public void Timeout_moves_to_next_resolver_asks_each_twice_then_answers_servfail()
    {
        var time = new FakeTimeProvider();
        var up = new RecordingUpstream();
        using var f = new DnsForwarder([R1, R2], up, time, timeout: TimeSpan.FromSeconds(2));
        f.HandleQuery(Guest, Query(7), new byte[512]);
        time.Advance(TimeSpan.FromSeconds(1));
        f.Poll();
        Assert.Single(up.Sent);
        time.Advance(TimeSpan.FromSeconds(1));
        f.Poll();
        Assert.Equal(2, up.Sent.Count);
        Assert.Equal(R2, up.Sent[1].To);
        Assert.Equal(up.Sent[0].Data, up.Sent[1].Data);
        for (var i = 0; i < 2; i++)
        {
            time.Advance(TimeSpan.FromSeconds(2));
            f.Poll();
        }

        Assert.Equal([R1, R2, R1, R2], up.Sent.Select(s => s.To));
        var reply = new byte[DnsForwarder.MaxFailureLength];
        Assert.Equal(0, f.TakeFailure(reply, out _)); // still waiting for the last attempt
        time.Advance(TimeSpan.FromSeconds(2));
        f.Poll();
        Assert.Equal(1, f.Failed);
        var n = f.TakeFailure(reply, out var guest);
        Assert.Equal(Guest, guest);
        Assert.Equal(Query(7).Length, n);
        Assert.Equal("0007 8182 0001 0000 0000 0000".Replace(" ", string.Empty, StringComparison.Ordinal), Bytes.ToHex(reply.AsSpan(0, 12)));
        Assert.Equal(0, f.PendingCount);
        Assert.Equal(0, f.TakeFailure(reply, out _));
    }

    [Fact]
    public void A_resolver_the_host_refuses_is_passed_over_at_once()
    {
        var time = new FakeTimeProvider();
        var up = new RecordingUpstream();
        up.Refused.Add(R1);
        using var f = new DnsForwarder([R1, R2], up, time, timeout: TimeSpan.FromSeconds(2));
        Assert.Equal(0, f.HandleQuery(Guest, Query(0x0a0a), new byte[512]));
        Assert.Equal([R1, R2], up.Sent.Select(s => s.To));
        Assert.True(f.HandleAnswer(R2, AnswerFor(up.Sent[1].Data), out var dest));
        Assert.Equal(Guest, dest);
        Assert.Equal(0, f.Failed);
    }

    [Fact]
    public void When_the_host_refuses_every_resolver_the_guest_gets_servfail_at_once()
    {
        var up = new RecordingUpstream();
        up.Refused.Add(R1);
        up.Refused.Add(R2);
        using var f = new DnsForwarder([R1, R2], up);
        var reply = new byte[512];
        var n = f.HandleQuery(Guest, Query(0x0b0b), reply);
        Assert.Equal(Query(0x0b0b).Length, n);
        Assert.Equal("0b0b 8182 0001 0000 0000 0000".Replace(" ", string.Empty, StringComparison.Ordinal), Bytes.ToHex(reply.AsSpan(0, 12)));
        Assert.Equal([R1, R2], up.Sent.Select(s => s.To)); // each once: another round would be refused again
        Assert.Equal(0, f.PendingCount);
        Assert.Equal(1, f.Failed);
    }

    [Fact]
    public void An_icmp_error_for_the_current_attempt_moves_on_at_once_and_after_the_last_the_query_fails()
    {
        var time = new FakeTimeProvider();
        var up = new RecordingUpstream();
        using var f = new DnsForwarder([R1, R2], up, time, timeout: TimeSpan.FromSeconds(2));
        f.HandleQuery(Guest, Query(0x0c0c), new byte[512]);

        // As the kernel returns it: the datagram's start (here its first 20 bytes), no time passing.
        f.HandleUnreachable(R1, up.Sent[0].Data.AsSpan(0, 20));
        Assert.Equal([R1, R2], up.Sent.Select(s => s.To));
        f.HandleUnreachable(R2, up.Sent[1].Data);
        f.HandleUnreachable(R1, up.Sent[2].Data.AsSpan(0, 12));
        Assert.Equal([R1, R2, R1, R2], up.Sent.Select(s => s.To));
        var reply = new byte[DnsForwarder.MaxFailureLength];
        Assert.Equal(0, f.TakeFailure(reply, out _));
        f.HandleUnreachable(R2, up.Sent[3].Data);
        Assert.Equal(Query(0x0c0c).Length, f.TakeFailure(reply, out var guest));
        Assert.Equal(Guest, guest);
        Assert.Equal("0c0c", Bytes.ToHex(reply.AsSpan(0, 2)));
        Assert.Equal(1, f.Failed);
        Assert.Equal(0, f.PendingCount);
    }

    [Fact]
    public void An_icmp_error_for_an_earlier_attempt_another_datagram_or_an_answered_query_changes_nothing()
    {
        var time = new FakeTimeProvider();
        var up = new RecordingUpstream();
        using var f = new DnsForwarder([R1, R2], up, time, timeout: TimeSpan.FromSeconds(2));
        f.HandleQuery(Guest, Query(0x0d0d), new byte[512]);
        time.Advance(TimeSpan.FromSeconds(2));
        f.Poll();
        Assert.Equal([R1, R2], up.Sent.Select(s => s.To));

        var sent = up.Sent[1].Data;
        f.HandleUnreachable(R1, sent); // the first attempt's resolver: that attempt is over already
        f.HandleUnreachable(R2, sent.AsSpan(0, 1)); // too short to name a query
        var other = sent.ToArray();
        other[13] ^= 0x20; // the same id, another question: not our datagram
        f.HandleUnreachable(R2, other);
        f.HandleUnreachable(R2, [.. sent, 0]); // longer than what was sent
        Assert.Equal(2, up.Sent.Count);

        Assert.True(f.HandleAnswer(R2, AnswerFor(sent), out _));
        f.HandleUnreachable(R2, sent); // answered meanwhile
        Assert.Equal(2, up.Sent.Count);
        Assert.Equal(0, f.Failed);
        Assert.Equal(0, f.PendingCount);
    }

    [Fact]
    public void A_late_answer_from_a_resolver_asked_earlier_is_taken()
    {
        var time = new FakeTimeProvider();
        var up = new RecordingUpstream();
        using var f = new DnsForwarder([R1, R2], up, time, timeout: TimeSpan.FromSeconds(1));
        f.HandleQuery(Guest, Query(9), new byte[512]);
        time.Advance(TimeSpan.FromSeconds(1));
        f.Poll();
        Assert.Equal(R2, up.Sent[1].To);
        Assert.True(f.HandleAnswer(R1, AnswerFor(up.Sent[0].Data), out var dest));
        Assert.Equal(Guest, dest);
    }

    [Fact]
    public void Without_a_fixed_timeout_every_attempt_fits_in_four_seconds()
    {
        var time = new FakeTimeProvider();
        var up = new RecordingUpstream();
        using var f = new DnsForwarder([R1, R2], up, time);
        f.HandleQuery(Guest, Query(3), new byte[512]);
        for (var i = 0; i < 40; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            f.Poll();
        }

        Assert.Equal(4, up.Sent.Count);
        Assert.Equal(1, f.Failed);
    }

    [Fact]
    public void The_resolver_file_is_read_again_when_replaced_by_rename_or_rewritten()
    {
        var dir = Directory.CreateTempSubdirectory("netdevd-resolv-");
        try
        {
            var path = Path.Combine(dir.FullName, "resolv.conf");
            File.WriteAllText(path, "nameserver 192.0.2.1\n");
            var watcher = new ResolvConfWatcher(path);
            var up = new RecordingUpstream();
            using var f = new DnsForwarder(watcher, up);
            f.HandleQuery(Guest, Query(1), new byte[512]);
            Assert.Equal(IPAddress.Parse("192.0.2.1"), up.Sent[^1].To.Address);

            var next = Path.Combine(dir.FullName, "resolv.conf.new");
            File.WriteAllText(next, "nameserver 2001:db8::53\nnameserver 192.0.2.2\n");
            File.Move(next, path, overwrite: true); // as NetworkManager and resolvconf do
            f.HandleQuery(Guest, Query(2), new byte[512]);
            Assert.Equal(IPAddress.Parse("2001:db8::53"), up.Sent[^1].To.Address);
            Assert.Equal(2, f.Resolvers.Count);

            File.WriteAllText(path, "nameserver 192.0.2.3\n"); // rewritten in place
            f.HandleQuery(Guest, Query(3), new byte[512]);
            Assert.Equal(IPAddress.Parse("192.0.2.3"), up.Sent[^1].To.Address);

            var reads = watcher.Reads;
            f.HandleQuery(Guest, Query(4), new byte[512]);
            Assert.Equal(reads, watcher.Reads); // unchanged: not read again

            File.Delete(path);
            var reply = new byte[512];
            Assert.Equal(Query(5).Length, f.HandleQuery(Guest, Query(5), reply)); // no file: SERVFAIL at once
            Assert.Equal(0x82, reply[3]);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Own_names_are_answered_without_asking_upstream()
    {
        var up = new RecordingUpstream();
        var hosts = new DnsHostRecords(
            [DnsHostEntry.Parse("Host.Internal."), DnsHostEntry.Parse("db.test:192.0.2.9"), DnsHostEntry.Parse("db.test:[2001:db8::9]")],
            IPAddress.Parse("10.0.2.2"),
            IPAddress.Parse("fec0::2"));
        using var f = new DnsForwarder([R1], up, hosts: hosts);
        var reply = new byte[f.MaxReplyLength(64)];

        var q = Bytes.Hex("abcd 0100 0001 0000 0000 0000 04686f7374 08696e7465726e616c 00 0001 0001"); // host.internal A
        var n = f.HandleQuery(Guest, q, reply);
        Assert.Equal(q.Length + 16, n);
        Assert.Equal("abcd 8580 0001 0001 0000 0000".Replace(" ", string.Empty, StringComparison.Ordinal), Bytes.ToHex(reply.AsSpan(0, 12)));
        Assert.Equal("c00c 0001 0001 0000003c 0004 0a000202".Replace(" ", string.Empty, StringComparison.Ordinal), Bytes.ToHex(reply.AsSpan(q.Length, 16)));

        q = Bytes.Hex("abce 0100 0001 0000 0000 0000 024442 0454455354 00 001c 0001"); // DB.TEST AAAA
        n = f.HandleQuery(Guest, q, reply);
        Assert.Equal(q.Length + 28, n);
        Assert.Equal("20010db8000000000000000000000009", Bytes.ToHex(reply.AsSpan(q.Length + 12, 16)));

        q = Bytes.Hex("abcf 0100 0001 0000 0000 0000 0264620474657374 00 000f 0001"); // db.test MX: NODATA
        n = f.HandleQuery(Guest, q, reply);
        Assert.Equal(q.Length, n);
        Assert.Equal("abcf 8580 0001 0000 0000 0000".Replace(" ", string.Empty, StringComparison.Ordinal), Bytes.ToHex(reply.AsSpan(0, 12)));

        Assert.Empty(up.Sent);
        Assert.Equal(0, f.HandleQuery(Guest, Query(1), reply)); // example.org goes upstream
        Assert.Single(up.Sent);
        Assert.Equal(3, f.LocalAnswers);
    }

    [Theory]
    [InlineData("", "Invalid DNS host record '' (Bad name)")]
    [InlineData("a..b", "Invalid DNS host record 'a..b' (Bad name)")]
    [InlineData("a b", "Invalid DNS host record 'a b' (Bad name)")]
    [InlineData("host.internal:10.0.2.300", "Invalid DNS host record 'host.internal:10.0.2.300' (Bad address)")]
    [InlineData("host.internal:", "Invalid DNS host record 'host.internal:' (Bad address)")]
    public void Bad_dns_host_entries_are_refused(string text, string message)
    {
        var e = Assert.Throws<Netdevd.Qapi.Errors.QapiException>(() => DnsHostEntry.Parse(text));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void No_resolver_or_full_table_answers_servfail_at_once()
    {
        using var none = new DnsForwarder([], new RecordingUpstream());
        var reply = new byte[512];
        var q = Query(0x1234);
        var n = none.HandleQuery(Guest, q, reply);
        Assert.Equal(q.Length, n);
        Assert.Equal("1234 8182 0001 0000 0000 0000".Replace(" ", string.Empty, StringComparison.Ordinal), Bytes.ToHex(reply.AsSpan(0, 12)));

        using var small = new DnsForwarder([R1], new RecordingUpstream(), maxPending: 1);
        Assert.Equal(0, small.HandleQuery(Guest, Query(1), reply));
        Assert.Equal(q.Length, small.HandleQuery(Guest, Query(2), reply));
        Assert.Equal(0, small.HandleQuery(Guest, new byte[5], reply));
        Assert.Equal(1, small.Dropped);
    }

    [Fact]
    public void Failed_queries_whose_servfail_was_not_taken_count_against_the_pending_limit()
    {
        // A guest that floods queries no resolver answers and reads nothing (its output full, so
        // the stack cannot hand out the SERVFAILs): every timeout moved the pending queries to the
        // failed ones and made room for as many new ones, so the failed ones grew without bound.
        var time = new FakeTimeProvider();
        var up = new RecordingUpstream();
        using var f = new DnsForwarder([R1], up, time, maxPending: 4, timeout: TimeSpan.FromSeconds(1));
        var reply = new byte[512];
        for (var round = 0; round < 10; round++)
        {
            for (ushort i = 0; i < 4; i++)
            {
                f.HandleQuery(Guest, Query(i), reply);
            }

            for (var attempt = 0; attempt < DnsForwarder.Rounds; attempt++)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                f.Poll();
            }
        }

        Assert.Equal(4, f.PendingCount);
        Assert.Equal(4 * DnsForwarder.Rounds, up.Sent.Count); // the rest got SERVFAIL at once
        Assert.Equal(Query(9).Length, f.HandleQuery(Guest, Query(9), reply));

        // Once the guest takes its SERVFAILs, queries go upstream again.
        var failure = new byte[DnsForwarder.MaxFailureLength];
        while (f.TakeFailure(failure, out _) > 0)
        {
        }

        Assert.Equal(0, f.PendingCount);
        Assert.Equal(0, f.HandleQuery(Guest, Query(10), reply));
        Assert.Equal(1, f.PendingCount);
    }

    [Fact]
    public void Pending_queries_are_charged_to_the_memory_budget_and_given_back()
    {
        // 256 pending queries of up to 64 KiB each are 16 MiB the netdev's memory limit did not
        // see. Each pending copy is now reserved from the budget; past it, SERVFAIL at once.
        var time = new FakeTimeProvider();
        var up = new RecordingUpstream();
        var budget = new MemoryBudget(20_000);
        using var f = new DnsForwarder([R1], up, time, timeout: TimeSpan.FromSeconds(1), budget: budget);
        var big = Query(1).Concat(new byte[4000]).ToArray();
        var reply = new byte[8192];

        Assert.Equal(0, f.HandleQuery(Guest, big, reply));
        var each = budget.Used;
        Assert.InRange(each, big.Length, 2 * big.Length); // the copy it holds, as rented
        var fit = (int)(budget.Limit / each);
        for (var i = 1; i < fit; i++)
        {
            Assert.Equal(0, f.HandleQuery(Guest, big, reply));
        }

        Assert.Equal(fit, f.PendingCount);
        var servfail = f.HandleQuery(Guest, big, reply);
        Assert.True(servfail > 0, "a query past the budget is answered at once");
        Assert.Equal(2, reply[3] & 0x0F);
        Assert.Equal(fit, up.Sent.Count);
        Assert.Equal(fit * each, budget.Used);

        // An answer gives its copy back, and the next query goes upstream again.
        Assert.True(f.HandleAnswer(R1, AnswerFor(up.Sent[0].Data), out _));
        Assert.Equal((fit - 1) * each, budget.Used);
        Assert.Equal(0, f.HandleQuery(Guest, big, reply));

        // Failed queries hold their copy until the SERVFAIL is taken; disposal gives back the rest.
        for (var attempt = 0; attempt < DnsForwarder.Rounds; attempt++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            f.Poll();
        }

        Assert.Equal(fit * each, budget.Used);
        Assert.True(f.TakeFailure(new byte[DnsForwarder.MaxFailureLength], out _) > 0);
        Assert.Equal((fit - 1) * each, budget.Used);
        f.Dispose();
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public void Resolv_conf_parsing()
    {
        var list = ResolvConf.Parse("""
            # comment
            ; other comment
            search example.org
            nameserver 127.0.0.53
            nameserver ::1
            nameserver bogus
            nameserver 127.0.0.1#5353
            nameserver 10.0.0.1
            """);
        Assert.Equal([new IPEndPoint(IPAddress.Parse("127.0.0.53"), 53), new IPEndPoint(IPAddress.IPv6Loopback, 53), new IPEndPoint(IPAddress.Loopback, 5353)], list);
        Assert.Empty(ResolvConf.Read("/nonexistent/resolv.conf"));
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "nameserver 192.0.2.53\n");
            Assert.Equal([new IPEndPoint(IPAddress.Parse("192.0.2.53"), 53)], ResolvConf.Read(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class RecordingUpstream : IDnsUpstream
    {
        public List<(IPEndPoint To, byte[] Data)> Sent { get; } = [];

        /// <summary>Resolvers the host refuses at once (no route): a send to one is recorded and fails.</summary>
        public HashSet<IPEndPoint> Refused { get; } = [];

        public bool Send(IPEndPoint resolver, ReadOnlySpan<byte> query)
        {
            Sent.Add((resolver, query.ToArray()));
            return !Refused.Contains(resolver);
        }
    }
}
