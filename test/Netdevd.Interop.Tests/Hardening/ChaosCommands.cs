using System.Text.Json.Nodes;

namespace Netdevd.Interop.Tests.Hardening;

/// <summary>
/// An endless, seeded stream of QMP commands a careless or hostile client could send: netdev_add
/// of every type with a few of its members (values at and past the schema's edges, odd strings,
/// unknown members), netdev_del of ids that exist and do not, chardev-add/-remove and queries.
/// Safe to run as root: every address is a loopback one or a unix path under <c>dir</c>, every
/// script or helper is one of two under <c>dir</c> (exit 0, exit 1), a missing one, "no" or
/// empty. Of <see cref="Take"/>'s commands only a chardev-add with server and wait on waits for a
/// far end (it may never come); of <see cref="TakeVhostUserPairs"/>'s, vhost-user adds may too.
/// </summary>
internal sealed class ChaosCommands(Random random, string dir)
{
    private static readonly string[] s_strings =
    [
        "", "a", new string('x', 300), "127.0.0.1", "::1", "[::1]", "127.0.0.1:0", "127.0.0.1:65536", "localhost:1234",
        "-1", "0", "3", "4294967296", "no", "yes", "on", "off", "%s%n", "\0", "é", "/dev/null", ",", "a,b=c", "id=x",
        "tcp:127.0.0.1:22-10.0.2.15:22", "udp:[::1]:5353-:53", "tcp::0-:22", "tcp:10.0.2.100:80-cmd:true",
        "10.0.2.0/24", "10.0.0.0/8", "10.0.2.15", "fec0::", "fe80::1", "1.2.3.4/33",
    ];

    private static readonly JsonNode?[] s_numbers =
    [
        0, 1, -1, 2, 64, 65535, 65536, int.MaxValue, 2147483648L, 4294967296L, long.MaxValue, long.MinValue,
        ulong.MaxValue, 1.5, "5", null, true,
    ];

    private string Script => Pick($"{dir}/ok.sh", $"{dir}/fail.sh", $"{dir}/missing.sh", "no", "");

    public IEnumerable<(string Name, JsonObject? Arguments)> Take(int count)
    {
        for (var i = 0; i < count; i++)
        {
            yield return Next();
        }
    }

    /// <summary>
    /// Commands on vhost-user front-ends and back-ends that find each other in the same daemon:
    /// socket chardevs (server or client, with or without reconnect) and vhost-user-backend
    /// netdevs on the same few paths, vhost-user netdevs on those chardevs, hubports onto them, and
    /// deletes of any of them at any point of the set-up. A vhost-user add whose chardev has no
    /// far end waits for one, as in QEMU, and a back-end's connect without reconnect-ms waits while
    /// the listening chardev does not accept.
    /// </summary>
    public IEnumerable<(string Name, JsonObject? Arguments)> TakeVhostUserPairs(int count)
    {
        for (var i = 0; i < count; i++)
        {
            yield return NextVhostUser();
        }
    }

    private (string, JsonObject?) NextVhostUser()
    {
        var x = random.NextDouble();
        // Chardevs listen on cd paths and connect to u paths, back-ends the other way round, so
        // that pairs meet; one time in six anywhere (a listener takes over another's path, as
        // QEMU unlinks before it binds, and the one whose path it took is never reached again).
        // Both listen when server is not given (chardev-add's schema says so too); chardevs are
        // mostly clients, as QEMU's are in front of passt, back-ends mostly servers.
        string PairPath(string listening, string connecting, bool listens) =>
            $"{dir}/{(random.Next(6) == 0 ? Pick("u", "cd") : listens ? listening : connecting)}{random.Next(3)}";
        string ChardevId() => $"c{random.Next(4)}";
        int Queues() => random.Next(4) switch { 0 => 4, 1 => 2, _ => 1 };
        int Reconnect() => random.Next(4) switch { 0 => 0, 1 => 1, 2 => 100, _ => 300 };
        bool? Server(double client)
        {
            // false (a client) with probability client; true and not given share the rest.
            var r = random.NextDouble();
            return r < client ? false : r < (1 + client) / 2 ? true : null;
        }

        if (x < 0.25)
        {
            var server = Server(client: 0.7);
            var data = new JsonObject { ["addr"] = new JsonObject { ["type"] = "unix", ["data"] = new JsonObject { ["path"] = PairPath("cd", "u", server ?? true) } } };
            if (server is { } on)
            {
                data["server"] = on;
            }

            // wait on a server (it waits for its first client), rarely on a client (refused, as in QEMU).
            if (server != false || random.Next(10) == 0)
            {
                data["wait"] = random.Next(10) == 0;
            }

            // A client mostly reconnects, so it finds a back-end that comes after it.
            if (random.NextDouble() < (server == false ? 0.7 : 0.2))
            {
                data[Pick("reconnect", "reconnect-ms", "reconnect-ms")] = Reconnect();
            }

            return ("chardev-add", new JsonObject { ["id"] = ChardevId(), ["backend"] = new JsonObject { ["type"] = "socket", ["data"] = data } });
        }

        if (x < 0.35)
        {
            return ("chardev-remove", new JsonObject { ["id"] = ChardevId() });
        }

        if (x < 0.55)
        {
            var args = new JsonObject { ["type"] = "vhost-user", ["id"] = PairId("f"), ["chardev"] = ChardevId() };
            if (random.NextDouble() < 0.3)
            {
                args["queues"] = Queues();
            }

            if (random.NextDouble() < 0.2)
            {
                args["vhostforce"] = random.Next(2) == 0;
            }

            return ("netdev_add", args);
        }

        if (x < 0.75)
        {
            var server = Server(client: 0.3);
            var args = new JsonObject { ["type"] = "vhost-user-backend", ["id"] = PairId("b"), ["addr"] = new JsonObject { ["type"] = "unix", ["path"] = PairPath("u", "cd", server ?? true) } };
            if (server is { } on)
            {
                args["server"] = on;
            }

            if (random.NextDouble() < 0.4)
            {
                args["reconnect-ms"] = Reconnect();
            }

            if (random.NextDouble() < 0.3)
            {
                args["queues"] = Queues();
            }

            return ("netdev_add", args);
        }

        if (x < 0.82)
        {
            var args = new JsonObject { ["type"] = "hubport", ["id"] = PairId("h"), ["hubid"] = random.Next(3) };
            if (random.NextDouble() < 0.7)
            {
                args["netdev"] = PairId(Pick("f", "b", "h"));
            }

            return ("netdev_add", args);
        }

        return x < 0.97 ? ("netdev_del", new JsonObject { ["id"] = PairId(Pick("f", "b", "h")) }) : (Pick("query-netdevs", "query-chardev"), null);
    }

    /// <summary>
    /// Pairs that carry frames: for pair k, a vhost-user-backend <c>b</c>k listening on
    /// <c>u</c>k, a reconnecting client chardev <c>c</c>k to it, a vhost-user netdev <c>v</c>k on
    /// that chardev, and hubports <c>hb</c>k (hub 0, onto the back-end) and <c>hv</c>k (hub 1,
    /// onto the front-end); each added, deleted, removed or its link set, in any order, while
    /// frames flow between hubs 0 and 1 through whichever pairs are whole.
    /// </summary>
    public IEnumerable<(string Name, JsonObject? Arguments)> TakeVhostUserTraffic(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var k = random.Next(3);
            var x = random.NextDouble();
            JsonObject Queues(JsonObject args)
            {
                if (random.NextDouble() < 0.3)
                {
                    args["queues"] = random.Next(1, 3);
                }

                return args;
            }

            yield return x switch
            {
                < 0.15 => ("netdev_add", Queues(new JsonObject { ["type"] = "vhost-user-backend", ["id"] = $"b{k}", ["addr"] = new JsonObject { ["type"] = "unix", ["path"] = $"{dir}/u{k}" } })),
                < 0.30 => ("chardev-add", new JsonObject
                {
                    ["id"] = $"c{k}",
                    ["backend"] = new JsonObject
                    {
                        ["type"] = "socket",
                        ["data"] = new JsonObject { ["addr"] = new JsonObject { ["type"] = "unix", ["data"] = new JsonObject { ["path"] = $"{dir}/u{k}" } }, ["server"] = false, ["reconnect-ms"] = random.Next(2) == 0 ? 50 : 200 },
                    },
                }),
                < 0.45 => ("netdev_add", Queues(new JsonObject { ["type"] = "vhost-user", ["id"] = $"v{k}", ["chardev"] = $"c{k}" })),
                < 0.55 => ("netdev_add", new JsonObject { ["type"] = "hubport", ["id"] = $"hb{k}", ["hubid"] = 0, ["netdev"] = $"b{k}" }),
                < 0.65 => ("netdev_add", new JsonObject { ["type"] = "hubport", ["id"] = $"hv{k}", ["hubid"] = 1, ["netdev"] = $"v{k}" }),
                < 0.90 => ("netdev_del", new JsonObject { ["id"] = Pick($"b{k}", $"v{k}", $"hb{k}", $"hv{k}") }),
                < 0.97 => ("chardev-remove", new JsonObject { ["id"] = $"c{k}" }),
                _ => ("set_link", new JsonObject { ["name"] = Pick($"b{k}", $"v{k}"), ["up"] = random.Next(2) == 0 }),
            };
        }
    }

    /// <summary>
    /// Few ids per kind (front-ends f, back-ends b, hubports h), so adds meet their own duplicates
    /// and deletes find what they name, while back-ends, which nearly always come up, cannot take
    /// every id the front-ends need.
    /// </summary>
    private string PairId(string kind) => $"{kind}{random.Next(5)}";

    private (string, JsonObject?) Next()
    {
        var x = random.NextDouble();
        if (x < 0.70)
        {
            var type = Pick("user", "tap", "stream", "dgram", "socket", "l2tpv3", "vde", "bridge", "hubport", "af-xdp", "vhost-vdpa", "netmap", "nic", "vhost-user-backend", "bogus");
            var args = Members(type);
            args["type"] = type;
            args["id"] = random.NextDouble() < 0.95 ? NetdevId() : Pick("", "1bad", new string('a', 200), "id with space");
            if (random.NextDouble() < 0.05)
            {
                args["extra"] = Str();
            }

            return ("netdev_add", args);
        }

        if (x < 0.88)
        {
            return ("netdev_del", new JsonObject { ["id"] = NetdevId() });
        }

        return random.Next(10) switch
        {
            0 or 1 => ("chardev-add", new JsonObject { ["id"] = Pick("c0", "c1", "c2", "", "bad id"), ["backend"] = Chardev() }),
            2 => ("chardev-remove", new JsonObject { ["id"] = Pick("c0", "c1", "c2", "x") }),
            3 => ("query-chardev", null),
            4 => ("query-netdevs", null),
            5 => ("query-usernet", null),
            6 => ("hostfwd-add", new JsonObject { ["netdev"] = NetdevId(), ["rule"] = Str() }),
            7 => ("hostfwd-remove", new JsonObject { ["netdev"] = NetdevId(), ["rule"] = Str() }),
            8 => ("set_link", new JsonObject { ["name"] = NetdevId(), ["up"] = Bool() }),
            _ => ("getfd", new JsonObject { ["fdname"] = Str() }),
        };
    }

    private JsonObject Members(string type)
    {
        var args = new JsonObject();
        void Some(params (string Name, Func<JsonNode?> Value)[] members)
        {
            foreach (var (name, value) in members.OrderBy(_ => random.Next()).Take(random.Next(members.Length + 1)))
            {
                args[name] = value();
            }
        }

        switch (type)
        {
            case "user":
                Some(M("net", Str), M("host", Str), M("dhcpstart", Str), M("dns", Str), M("ipv4", Bool), M("ipv6", Bool), M("restrict", Bool),
                    M("hostname", Str), M("domainname", Str), M("ipv6-prefix", Str), M("ipv6-prefixlen", Number), M("ipv6-host", Str),
                    M("ipv6-dns", Str), M("tftp", () => Pick(dir, "/nonexistent")), M("bootfile", Str), M("smbserver", Str), M("mtu", Number),
                    M("hostfwd", () => Strings(3)), M("guestfwd", () => Strings(2)), M("dnssearch", () => Strings(3)));
                break;
            case "tap":
                Some(M("ifname", () => Pick("", "ch0", "ch1", new string('x', 20), "bad/name", "lo")), M("script", () => Script),
                    M("downscript", () => Script), M("vnet_hdr", Bool), M("vhost", Bool), M("queues", Number), M("sndbuf", Number),
                    M("fd", Descriptor), M("fds", () => Pick("3:4", "x:y", ":")), M("vhostfd", Descriptor), M("br", Str),
                    M("helper", () => Script), M("poll-us", Number));
                break;
            case "stream":
                args["addr"] = Address();
                Some(M("server", Bool), M("reconnect", Number));
                break;
            case "dgram":
                Some(M("local", Address), M("remote", Address));
                break;
            case "socket":
                Some(M("listen", () => Pick($"127.0.0.1:{Port()}", $":{Port()}", Text())), M("connect", () => Pick($"127.0.0.1:{Port()}", Text())),
                    M("mcast", () => Pick($"230.0.0.1:{Port()}", Text())), M("udp", () => $"127.0.0.1:{Port()}"),
                    M("localaddr", () => Pick($"127.0.0.1:{Port()}", Text())), M("fd", Descriptor));
                break;
            case "l2tpv3":
                args["src"] = Pick("127.0.0.1", "::1", Text());
                args["dst"] = Pick("127.0.0.1", "::1");
                args["txsession"] = Number();
                Some(M("srcport", () => Port().ToString(System.Globalization.CultureInfo.InvariantCulture)), M("dstport", () => Port().ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    M("ipv6", Bool), M("udp", Bool), M("cookie64", Bool), M("counter", Bool), M("pincounter", Bool), M("txcookie", Number),
                    M("rxcookie", Number), M("rxsession", Number), M("offset", Number));
                break;
            case "vde":
                Some(M("sock", () => Pick($"{dir}/vde", $"{dir}/missing", Text())), M("port", Number), M("group", Str), M("mode", Number));
                break;
            case "bridge":
                Some(M("br", Str), M("helper", () => Script));
                break;
            case "hubport":
                args["hubid"] = Number();
                Some(M("netdev", () => NetdevId()));
                break;
            case "af-xdp":
                args["ifname"] = Pick("lo", "ch0", "", "missing");
                Some(M("mode", () => Pick("native", "skb", "x")), M("force-copy", Bool), M("queues", Number), M("start-queue", Number),
                    M("inhibit", Bool), M("sock-fds", () => Pick("3", "x:y")));
                break;
            case "vhost-vdpa":
                Some(M("vhostdev", () => Pick($"{dir}/missing", "/dev/null")), M("vhostfd", Descriptor), M("queues", Number), M("x-svq", Bool));
                break;
            case "vhost-user-backend":
                // A server listens and a client connects in the background: netdev_add does not wait.
                args["addr"] = Address();
                Some(M("server", Bool), M("reconnect-ms", Number), M("queues", Number));
                break;
            default:
                Some(M("ifname", Str), M("model", Str), M("x", Str));
                break;
        }

        return args;
    }

    private JsonObject Address()
    {
        var type = Pick("inet", "unix", "vsock", "fd", "bogus");
        var address = new JsonObject { ["type"] = type };
        switch (type)
        {
            case "inet":
                address["host"] = Pick("127.0.0.1", "::1", "localhost", "", "300.1.1.1", "[::1]");
                address["port"] = Port().ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (random.NextDouble() < 0.3)
                {
                    address[Pick("numeric", "ipv4", "ipv6", "keep-alive", "mptcp")] = Bool();
                }

                break;
            case "unix":
                address["path"] = Pick($"{dir}/u{random.Next(4)}", "", new string('x', 200), $"{dir}/missing/s");
                if (random.NextDouble() < 0.3)
                {
                    address[Pick("abstract", "tight")] = Bool();
                }

                break;
            case "vsock":
                address["cid"] = Str();
                address["port"] = Str();
                break;
            case "fd":
                address["str"] = Pick("0", "1", "2", "3", "7", "100", "x", "", "-1");
                break;
        }

        return address;
    }

    private JsonObject Chardev()
    {
        var data = new JsonObject
        {
            ["addr"] = random.NextDouble() < 0.7
                ? new JsonObject { ["type"] = "unix", ["data"] = new JsonObject { ["path"] = $"{dir}/cd{random.Next(3)}" } }
                : new JsonObject { ["type"] = Pick("inet", "fd", "vsock", "x"), ["data"] = new JsonObject { ["host"] = "127.0.0.1", ["port"] = Port().ToString(System.Globalization.CultureInfo.InvariantCulture), ["str"] = "3" } },
            ["wait"] = random.Next(10) == 0,
        };
        if (random.NextDouble() < 0.7)
        {
            data["server"] = Bool();
        }

        foreach (var member in new[] { "reconnect", "reconnect-ms", "nodelay", "telnet", "websocket", "tls-creds" })
        {
            if (random.NextDouble() < 0.2)
            {
                data[member] = member.StartsWith("reconnect", StringComparison.Ordinal) ? Number() : member == "tls-creds" ? Str() : Bool();
            }
        }

        return new JsonObject { ["type"] = random.NextDouble() < 0.85 ? "socket" : Pick("file", "null", "x"), ["data"] = data };
    }

    private static (string Name, Func<JsonNode?> Value) M(string name, Func<JsonNode?> value) => (name, value);

    private string NetdevId() => $"n{random.Next(30)}";

    private JsonNode? Str() => Text();

    private string Text() => random.NextDouble() < 0.8
        ? s_strings[random.Next(s_strings.Length)]
        : new string([.. Enumerable.Range(0, random.Next(40)).Select(_ => "ab:.,/[]=-0123456789"[random.Next(20)])]);

    private JsonNode? Number() => random.NextDouble() < 0.9 ? s_numbers[random.Next(s_numbers.Length)]?.DeepClone() : random.Next(-10, 70000);

    private JsonNode? Bool() => random.Next(7) switch
    {
        0 or 1 or 2 => true,
        3 or 4 => false,
        5 => "on",
        _ => 1,
    };

    private JsonArray Strings(int most) => new JsonArray([.. Enumerable.Range(0, random.Next(most + 1)).Select(_ => (JsonNode)new JsonObject { ["str"] = Str() })]);

    private JsonNode? Descriptor() => Pick("0", "3", "9", "x");

    private int Port() => random.Next(6) switch
    {
        0 => 0,
        1 => 1,
        2 => 65535,
        3 => 65536,
        4 => -1,
        _ => random.Next(20000, 60000),
    };

    private string Pick(params string[] choices) => choices[random.Next(choices.Length)];

    /// <summary>The two scripts every script and helper member may name (exit 0, exit 1); once per directory, before any command.</summary>
    public static void WriteScripts(string dir)
    {
        foreach (var (name, status) in new[] { ("ok.sh", 0), ("fail.sh", 1) })
        {
            var path = Path.Combine(dir, name);
            File.WriteAllText(path, $"#!/bin/sh\nexit {status}\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
