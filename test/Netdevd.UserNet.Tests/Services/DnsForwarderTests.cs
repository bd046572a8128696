using System.Net;
using Microsoft.Extensions.Time.Testing;
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
    public void Timeout_moves_to_next_resolver_then_gives_up()
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
        Assert.False(f.HandleAnswer(R1, AnswerFor(up.Sent[0].Data), out _)); // now only R2 may answer
        time.Advance(TimeSpan.FromSeconds(2));
        f.Poll();
        Assert.Equal(0, f.PendingCount);
        Assert.Equal(1, f.TimedOut);
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

        public void Send(IPEndPoint resolver, ReadOnlySpan<byte> query) => Sent.Add((resolver, query.ToArray()));
    }
}
