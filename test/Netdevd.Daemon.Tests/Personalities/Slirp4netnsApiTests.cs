using System.Net;
using System.Text;
using Netdevd.Core.UserNetworks;
using Netdevd.Personalities.Slirp4netns;
using Netdevd.Qapi.Schema;

namespace Netdevd.Daemon.Tests.Personalities;

/// <summary>slirp4netns's API requests, answered as podman and rootlesskit parse the replies, whatever a local process sends.</summary>
public sealed class Slirp4netnsApiTests
{
    private static Slirp4netnsApi Api(out List<string> rules)
    {
        var network = new RecordingUserNetwork();
        rules = network.Rules;
        return new Slirp4netnsApi(network, IPAddress.Parse("10.0.2.100"));
    }

    [Fact]
    public void Add_list_and_remove_count_ids_from_1_and_reach_the_user_netdev()
    {
        var api = Api(out var rules);
        Assert.Equal("{\"return\":{\"id\":1}}", api.Handle("{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":8080,\"guest_port\":80}}"u8));
        Assert.Equal(["tcp:127.0.0.1:8080-10.0.2.100:80"], rules);
        Assert.Contains("\"guest_addr\":\"10.0.2.100\"", api.Handle("{\"execute\":\"list_hostfwd\"}"u8), StringComparison.Ordinal);
        Assert.Equal("{\"return\":{}}", api.Handle("{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1}}"u8));
        Assert.Empty(rules);
        Assert.Equal("{\"error\":{\"desc\":\"bad request: remove_hostfwd: bad arguments.id\"}}", api.Handle("{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1}}"u8));
    }

    [Theory]
    [InlineData("{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"\xff\",\"host_port\":1,\"guest_port\":2}}")]
    [InlineData("{\"execute\":\"list\x94hostfwd\"}")]
    public void A_request_that_is_not_UTF8_is_refused_as_unparsable(string latin1)
    {
        // The fuzzer's finding: a string holding bytes that are not UTF-8 threw out of the handler
        // and the client got no reply.
        var api = Api(out var rules);
        Assert.Equal("{\"error\":{\"desc\":\"bad request: cannot parse JSON\"}}", api.Handle(Encoding.Latin1.GetBytes(latin1)));
        Assert.Empty(rules);
    }

    [Fact]
    public void A_lone_surrogate_escape_is_a_bad_argument_not_an_exception()
    {
        var api = Api(out _);
        Assert.Equal("{\"error\":{\"desc\":\"bad request: add_hostfwd: bad arguments.proto\"}}", api.Handle("{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"\\ud800\"}}"u8));
        Assert.Equal("{\"error\":{\"desc\":\"bad request: no execute found\"}}", api.Handle("{\"execute\":\"\\udc00\"}"u8));
    }

    [Theory]
    [InlineData("[1,2]", "json_object() failed")]
    [InlineData("{\"execute\":42}", "no execute found")]
    [InlineData("{\"execute\":\"x\"}", "unknown execute")]
    [InlineData("{\"execute\"", "cannot parse JSON")]
    public void Malformed_requests_get_slirp4netns_texts(string request, string desc)
    {
        Assert.Equal($"{{\"error\":{{\"desc\":\"bad request: {desc}\"}}}}", Api(out _).Handle(Encoding.UTF8.GetBytes(request)));
    }

    [Fact]
    public void A_request_of_4096_bytes_or_more_is_too_large()
    {
        var request = new byte[Slirp4netnsApi.MaxRequest];
        request.AsSpan().Fill((byte)' ');
        Assert.Equal("{\"error\":{\"desc\":\"bad request: too large message\"}}", Api(out _).Handle(request));
    }

    /// <summary>Records the rules the API hands to the user netdev.</summary>
    private sealed class RecordingUserNetwork : IUserNetwork
    {
        public List<string> Rules { get; } = [];

        public IReadOnlyList<HostFwdInfo> HostForwards => [];

        public HostFwdInfo AddHostForward(string rule)
        {
            Rules.Add(rule);
            return new HostFwdInfo { Rule = rule, Protocol = "tcp", HostAddr = "", HostPort = 0, GuestAddr = "", GuestPort = 0 };
        }

        public bool RemoveHostForward(string key) => Rules.RemoveAll(r => r.StartsWith(key + "-", StringComparison.Ordinal)) > 0;

        public UsernetInfo QueryState() => new()
        {
            Netdev = "t",
            Flows = [],
            Leases = [],
            Counters = new() { FramesIn = 0, FramesOut = 0, TcpFlowsOpened = 0, UdpFlowsOpened = 0, IcmpErrorsSent = 0, IcmpErrorsRelayed = 0, Drops = [] },
        };
    }
}
