using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Objects;
using Netdevd.Qapi.Schema;
using Netdevd.Qapi.Visitors;

namespace Netdevd.Qapi.Generator.Tests;

/// <summary>The types the generator produced inside Netdevd.Qapi, used for real.</summary>
public sealed class RuntimeTypesTests
{
    private static Netdev StreamNetdev() => new()
    {
        Id = "s0",
        Type = NetClientDriver.Stream,
        Stream = new NetdevStreamOptions
        {
            Addr = new SocketAddress
            {
                Type = SocketAddressType.Inet,
                Inet = new InetSocketAddress { Host = "127.0.0.1", Port = "4444", Ipv4 = true, To = 4450 },
            },
            Server = true,
        },
    };

    [Fact]
    public void Netdev_to_qobject_is_flat_and_round_trips()
    {
        var d = StreamNetdev().ToQObject();
        Assert.Equal(["id", "type", "addr", "server"], d.Keys);
        var text = d.ToString();
        Assert.Equal("""{"id": "s0", "type": "stream", "addr": {"type": "inet", "host": "127.0.0.1", "port": "4444", "to": 4450, "ipv4": true}, "server": true}""", text);
        var back = Netdev.Visit(new QObjectInputVisitor(d), null);
        Assert.Equal(NetClientDriver.Stream, back.Type);
        Assert.Equal((ushort)4450, back.Stream!.Addr.Inet!.To);
        Assert.Null(back.User);
        Assert.Equal(text, back.ToQObject().ToString());
    }

    [Fact]
    public void User_netdev_with_lists_round_trips()
    {
        var n = new Netdev
        {
            Id = "u0",
            Type = NetClientDriver.User,
            User = new NetdevUserOptions { Restrict = false, Hostfwd = [new Schema.String { Str = "tcp::2222-:22" }], Ipv6Prefixlen = 64 },
        };
        var d = n.ToQObject();
        var back = Netdev.Visit(new QObjectInputVisitor(d), null);
        Assert.Equal("tcp::2222-:22", back.User!.Hostfwd![0].Str);
        Assert.Equal(d.ToString(), back.ToQObject().ToString());
    }

    [Fact]
    public void Branch_without_members_sets_nothing()
    {
        var d = new QDict().Put("id", "x").Put("type", "none");
        var n = Netdev.Visit(new QObjectInputVisitor(d), null);
        Assert.Equal(NetClientDriver.None, n.Type);
        Assert.Equal("""{"id": "x", "type": "none"}""", n.ToQObject().ToString());
    }

    [Fact]
    public void Visiting_reports_qemu_errors()
    {
        var bad = Assert.Throws<QapiException>(() => Netdev.Visit(new QObjectInputVisitor(new QDict().Put("id", "x").Put("type", "vmnet-host")), null));
        Assert.Equal("Parameter 'type' does not accept value 'vmnet-host'", bad.Message);
        var extra = Assert.Throws<QapiException>(() => Netdev.Visit(new QObjectInputVisitor(new QDict().Put("id", "x").Put("type", "hubport").Put("hubid", 1).Put("bogus", 1)), null));
        Assert.Equal("Parameter 'bogus' is unexpected", extra.Message);
        var missing = Assert.Throws<QapiException>(() => Netdev.Visit(new QObjectInputVisitor(new QDict().Put("id", "x").Put("type", "hubport")), null));
        Assert.Equal("Parameter 'hubid' is missing", missing.Message);
    }

    [Fact]
    public void Net_client_driver_names_follow_the_build_conditions()
    {
        Assert.Contains("af-xdp", NetClientDriverQapi.Names);
        Assert.DoesNotContain(NetClientDriverQapi.Names, n => n.StartsWith("vmnet", StringComparison.Ordinal));
        Assert.Equal("vhost-user", NetClientDriver.VhostUser.ToQapi());
        Assert.True(NetClientDriverQapi.TryParse("af-xdp", out var x));
        Assert.Equal(NetClientDriver.AfXdp, x);
        Assert.False(NetClientDriverQapi.TryParse("vmnet-host", out _));
    }

    [Fact]
    public void Schema_info_has_netdev_add_with_its_masked_argument_type()
    {
        var info = QapiIntrospection.SchemaInfo;
        var byName = info.Cast<QDict>().ToDictionary(d => ((QString)d.Get("name")!).Value);
        var add = byName["netdev_add"];
        Assert.Equal("command", ((QString)add.Get("meta-type")!).Value);
        var argType = ((QString)add.Get("arg-type")!).Value;
        Assert.True(int.TryParse(argType, out _), "masked as a number: " + argType);
        var netdev = byName[argType];
        Assert.Equal("object", ((QString)netdev.Get("meta-type")!).Value);
        Assert.Equal("type", ((QString)netdev.Get("tag")!).Value);
        var cases = ((QList)netdev.Get("variants")!).Cast<QDict>().Select(v => ((QString)v.Get("case")!).Value).ToList();
        Assert.Contains("af-xdp", cases);
        Assert.Contains("none", cases); // no branch: the empty object
        Assert.DoesNotContain("vmnet-host", cases);
        Assert.Equal(["id", "type"], ((QList)netdev.Get("members")!).Cast<QDict>().Select(m => ((QString)m.Get("name")!).Value));
        Assert.False(byName.ContainsKey("Netdev"));
        Assert.Equal("string", ((QString)byName["str"].Get("json-type")!).Value);
        Assert.Contains("NETDEV_STREAM_CONNECTED", byName.Keys);
        Assert.Contains("query-qmp-schema", byName.Keys);
        Assert.Equal(byName.Count, info.Count); // no duplicate names
    }

    [Fact]
    public void Schema_info_optional_members_have_null_default_and_int_types_collapse()
    {
        var info = QapiIntrospection.SchemaInfo.Cast<QDict>().ToList();
        var text = string.Join("\n", info.Select(d => d.ToString()));
        Assert.Contains("\"default\": null", text);
        Assert.DoesNotContain("\"uint32\"", text);
        Assert.Contains("{\"name\": \"[int]\", \"meta-type\": \"array\", \"element-type\": \"int\"}", text);
        Assert.Contains("\"features\": [\"unstable\"]", text);
    }

    [Fact]
    public async Task Command_table_validates_arguments_and_calls_handlers()
    {
        var handlers = new FakeHandlers();
        var table = QapiCommandTable.Create(handlers);
        Assert.True(table["netdev_add"].AllowPreconfig);
        Assert.False(table["set_link"].AllowPreconfig);
        var ctx = new QapiCommandContext();

        var r = await table["set_link"].InvokeAsync(new QDict().Put("name", "n0").Put("up", false), ctx);
        Assert.Equal("{}", r.ToString());
        Assert.Equal(("n0", false), handlers.Link);

        var e = await Assert.ThrowsAsync<QapiException>(async () => await table["set_link"].InvokeAsync(new QDict().Put("name", "n0"), ctx));
        Assert.Equal("Parameter 'up' is missing", e.Message);
        e = await Assert.ThrowsAsync<QapiException>(async () => await table["quit"].InvokeAsync(new QDict().Put("x", 1), ctx));
        Assert.Equal("Parameter 'x' is unexpected", e.Message);

        await table["netdev_add"].InvokeAsync(StreamNetdev().ToQObject(), ctx);
        Assert.Equal("s0", handlers.Added!.Id);

        var version = await table["query-version"].InvokeAsync(new QDict(), ctx);
        Assert.Equal("""{"qemu": {"major": 9, "minor": 1, "micro": 0}, "package": "netdevd"}""", version.ToString());
        var cmds = await table["query-commands"].InvokeAsync(new QDict(), ctx);
        Assert.Equal("""[{"name": "quit"}]""", cmds.ToString());
        var schema = await table["query-qmp-schema"].InvokeAsync(new QDict(), ctx);
        Assert.IsType<QList>(schema);
    }

    [Fact]
    public void Event_factories_build_data()
    {
        var ev = QapiEvents.NetdevStreamConnected("s0", new SocketAddress { Type = SocketAddressType.Unix, Unix = new UnixSocketAddress { Path = "/tmp/s" } });
        Assert.Equal("NETDEV_STREAM_CONNECTED", ev.Name);
        Assert.Equal("""{"netdev-id": "s0", "addr": {"type": "unix", "path": "/tmp/s"}}""", ev.Data!.ToString());
        Assert.Equal("""{"path": "/p"}""", QapiEvents.NicRxFilterChanged("/p").Data!.ToString());
    }

    private sealed class FakeHandlers : IQapiCommandHandlers
    {
        public (string, bool)? Link { get; private set; }

        public Netdev? Added { get; private set; }

        public ValueTask QmpCapabilitiesAsync(QmpCapabilitiesArguments args, QapiCommandContext context) => default;

        public ValueTask<VersionInfo> QueryVersionAsync(QapiCommandContext context) =>
            new(new VersionInfo { Qemu = new VersionTriple { Major = 9, Minor = 1, Micro = 0 }, Package = "netdevd" });

        public ValueTask<IReadOnlyList<CommandInfo>> QueryCommandsAsync(QapiCommandContext context) =>
            new([new CommandInfo { Name = "quit" }]);

        public ValueTask<QObject> QueryQmpSchemaAsync(QDict arguments, QapiCommandContext context) => new(QapiIntrospection.SchemaInfo);

        public ValueTask QuitAsync(QapiCommandContext context) => default;

        public ValueTask GetfdAsync(GetfdArguments args, QapiCommandContext context) => default;

        public ValueTask ClosefdAsync(ClosefdArguments args, QapiCommandContext context) => default;

        public ValueTask<IReadOnlyList<NetdevInfo>> QueryNetdevsAsync(QapiCommandContext context) => new([]);

        public ValueTask SetLinkAsync(SetLinkArguments args, QapiCommandContext context)
        {
            Link = (args.Name, args.Up);
            return default;
        }

        public ValueTask NetdevAddAsync(Netdev args, QapiCommandContext context)
        {
            Added = args;
            return default;
        }

        public ValueTask NetdevDelAsync(NetdevDelArguments args, QapiCommandContext context) => default;

        public ValueTask<IReadOnlyList<RxFilterInfo>> QueryRxFilterAsync(QueryRxFilterArguments args, QapiCommandContext context) => new([]);

        public ValueTask AnnounceSelfAsync(AnnounceParameters args, QapiCommandContext context) => default;

        public ValueTask<HostFwdInfo> HostfwdAddAsync(HostfwdAddArguments args, QapiCommandContext context) => throw new NotSupportedException();

        public ValueTask HostfwdRemoveAsync(HostfwdRemoveArguments args, QapiCommandContext context) => default;

        public ValueTask<IReadOnlyList<HostFwdInfo>> QueryHostfwdAsync(QueryHostfwdArguments args, QapiCommandContext context) => new([]);

        public ValueTask<ChardevReturn> ChardevAddAsync(ChardevAddArguments args, QapiCommandContext context) => throw new NotSupportedException();

        public ValueTask ChardevRemoveAsync(ChardevRemoveArguments args, QapiCommandContext context) => default;

        public ValueTask<IReadOnlyList<ChardevInfo>> QueryChardevAsync(QapiCommandContext context) => new([]);

        public ValueTask<IReadOnlyList<UsernetInfo>> QueryUsernetAsync(QueryUsernetArguments args, QapiCommandContext context) => new([]);
    }
}
