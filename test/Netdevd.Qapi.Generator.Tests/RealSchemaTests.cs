using Microsoft.CodeAnalysis;
using Netdevd.Qapi.Generator.Parsing;

namespace Netdevd.Qapi.Generator.Tests;

/// <summary>The generator on the project's real schema files (qapi/ at the repository root).</summary>
public sealed class RealSchemaTests
{
    internal static string QapiDir
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "qapi", "net.json");
                if (File.Exists(candidate))
                {
                    return Path.GetDirectoryName(candidate)!;
                }
            }

            throw new InvalidOperationException("qapi/ not found above " + AppContext.BaseDirectory);
        }
    }

    private static (string, string) File_(string name) => (Path.Combine(QapiDir, name), File.ReadAllText(Path.Combine(QapiDir, name)));

    [Fact]
    public void Net_and_sockets_yield_a_type_handler_or_factory_for_every_expression()
    {
        // Everything defined, vmnet included, so that every expression must produce something.
        var r = GeneratorHarness.Run("CONFIG_LINUX;CONFIG_AF_XDP;CONFIG_VMNET;HAVE_IPPROTO_MPTCP", File_("net.json"), File_("sockets.json"));
        r.AssertCompiles();
        var expressions = new[] { "net.json", "sockets.json" }
            .SelectMany(f => SchemaParser.Parse(f, File.ReadAllText(Path.Combine(QapiDir, f))))
            .Where(e => e.Expr.Get("include") is null)
            .ToList();
        // net.json holds QEMU's 33 definitions and netdevd's NetdevVhostUserBackendOptions (plus its include), sockets.json 7.
        Assert.Equal(41, expressions.Count);
        var handlers = r.Type("IQapiCommandHandlers")!;
        var events = r.Type("QapiEvents")!;
        foreach (var e in expressions)
        {
            var (kind, name) = e.Expr.Members[0].Value is SchemaString s ? (e.Expr.Members[0].Key, s.Value) : ("", "");
            var pascal = string.Concat(name.Split('-', '_').Select(p => p.All(c => !char.IsLetter(c) || char.IsUpper(c)) && name.All(c => !char.IsLetter(c) || char.IsUpper(c))
                ? char.ToUpperInvariant(p[0]) + p[1..].ToLowerInvariant()
                : char.ToUpperInvariant(p[0]) + p[1..]));
            switch (kind)
            {
                case "enum":
                    Assert.True(r.Type(pascal) is { TypeKind: TypeKind.Enum }, name);
                    Assert.NotNull(r.Type(pascal + "Qapi"));
                    break;
                case "struct":
                case "union":
                    Assert.True(r.Type(pascal) is { TypeKind: TypeKind.Class }, name);
                    break;
                case "command":
                    Assert.True(handlers.GetMembers(pascal + "Async").Length == 1, name);
                    break;
                case "event":
                    Assert.True(events.GetMembers(pascal).Length == 1, name);
                    break;
                default:
                    Assert.Fail("unexpected expression " + kind);
                    break;
            }
        }
    }

    [Fact]
    public void Without_af_xdp_and_vmnet_their_types_are_gone()
    {
        var r = GeneratorHarness.Run("CONFIG_LINUX", File_("net.json"), File_("sockets.json"));
        r.AssertCompiles();
        Assert.Null(r.Type("NetdevAFXDPOptions"));
        Assert.Null(r.Type("AFXDPMode"));
        Assert.Null(r.Type("NetdevVmnetHostOptions"));
        Assert.Empty(r.Type("Netdev")!.GetMembers("AfXdp"));
        Assert.Empty(r.Type("InetSocketAddress")!.GetMembers("Mptcp"));
        Assert.NotEmpty(r.Type("UnixSocketAddress")!.GetMembers("Abstract"));
    }

    [Fact]
    public void All_the_files_as_the_build_passes_them_generate_once()
    {
        // The csproj hands over qapi/*.json; netdevd.json includes net.json (which includes sockets.json) and char.json.
        var r = GeneratorHarness.Run("CONFIG_LINUX;CONFIG_AF_XDP;HAVE_IPPROTO_MPTCP", File_("netdevd.json"), File_("net.json"), File_("sockets.json"), File_("char.json"));
        r.AssertCompiles();
        Assert.NotNull(r.Type("NetdevInfo"));
        Assert.NotEmpty(r.Type("IQapiCommandHandlers")!.GetMembers("ChardevAddAsync"));
        Assert.NotEmpty(r.Type("IQapiCommandHandlers")!.GetMembers("QueryNetdevsAsync"));
    }
}
