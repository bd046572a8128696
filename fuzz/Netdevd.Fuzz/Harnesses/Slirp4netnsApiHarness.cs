using System.Net;
using System.Text.Json;
using Netdevd.Core.UserNetworks;
using Netdevd.Fuzz.Support;
using Netdevd.Personalities.Slirp4netns;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Forwarding;
using Netdevd.Wire;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// Requests to slirp4netns's API socket (any process of the user can connect), one per record,
/// against one API instance. The forwards go to the user netdev's own rule parser (no sockets
/// are opened), so a request whose fields build a rule the parser reads differently shows up.
/// Every reply must be one JSON object with "return" or "error", as podman parses it.
/// </summary>
public static class Slirp4netnsApiHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzReader(input);
        var api = new Slirp4netnsApi(new ParsingUserNetwork(), IPAddress.Parse("10.0.2.100"));
        while (!reader.IsAtEnd)
        {
            var reply = api.Handle(reader.Record());
            using var document = JsonDocument.Parse(reply);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !(root.TryGetProperty("return", out _) || root.TryGetProperty("error", out _) || root.TryGetProperty("entries", out _)))
            {
                throw new FuzzFindingException($"reply is not a slirp4netns reply: {reply}");
            }
        }
    }

    /// <summary>Forwards as the user netdev parses them, kept in a list instead of listening.</summary>
    private sealed class ParsingUserNetwork : IUserNetwork
    {
        private readonly List<(string Key, HostFwdInfo Info)> _forwards = [];

        public IReadOnlyList<HostFwdInfo> HostForwards => _forwards.ConvertAll(f => f.Info);

        public HostFwdInfo AddHostForward(string rule)
        {
            var parsed = HostForwardParser.Parse(rule, Ipv4Address.Create(10, 0, 2, 15));
            var again = $"{parsed.Protocol}:{parsed.HostAddress}:{parsed.HostPort}-{parsed.GuestAddress}:{parsed.GuestPort}";
            if (again != rule)
            {
                throw new FuzzFindingException($"the API built rule '{rule}' and the user netdev read it as '{again}'");
            }

            var key = $"{(parsed.Udp ? "udp" : "tcp")}:{parsed.HostAddress}:{parsed.HostPort}";
            if (_forwards.Exists(f => f.Key == key))
            {
                throw new Netdevd.Qapi.Errors.QapiException($"Could not set up host forwarding rule '{rule}'");
            }

            var info = new HostFwdInfo
            {
                Rule = rule,
                Protocol = parsed.Protocol,
                HostAddr = parsed.HostAddress.ToString(),
                HostPort = parsed.HostPort,
                GuestAddr = parsed.GuestAddress.ToString(),
                GuestPort = parsed.GuestPort,
            };
            _forwards.Add((key, info));
            return info;
        }

        public bool RemoveHostForward(string key)
        {
            var (udp, address, port) = HostForwardParser.ParseKey(key);
            return _forwards.RemoveAll(f => f.Key == $"{(udp ? "udp" : "tcp")}:{address}:{port}") > 0;
        }

        public UsernetInfo QueryState() => new()
        {
            Netdev = "fuzz",
            Flows = [],
            Leases = [],
            Counters = new() { FramesIn = 0, FramesOut = 0, TcpFlowsOpened = 0, UdpFlowsOpened = 0, IcmpErrorsSent = 0, IcmpErrorsRelayed = 0, Drops = [] },
        };
    }
}
