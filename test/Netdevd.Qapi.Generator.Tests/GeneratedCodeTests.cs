using Microsoft.CodeAnalysis;

namespace Netdevd.Qapi.Generator.Tests;

/// <summary>The generator on small schemas: what it emits compiles and has the contract's shape.</summary>
public sealed class GeneratedCodeTests
{
    private const string Small = """
        # A small schema with one of each kind.
        ##
        # @Color:
        #
        # A colour.
        #
        # @dark-red: the dark one
        ##
        { 'enum': 'Color', 'data': [ 'dark-red', { 'name': 'blue', 'features': [ 'deprecated' ] } ] }

        ##
        # @Base:
        #
        # @id: identifier
        ##
        { 'struct': 'Base', 'data': { 'id': 'str' } }

        ##
        # @Paint:
        #
        # Some paint.
        #
        # @color: its colour
        #
        # @litres: how much
        ##
        { 'struct': 'Paint', 'base': 'Base',
          'data': { 'color': 'Color', '*litres': 'uint32', '*tags': ['str'],
                    '*extra': { 'type': 'any', 'features': [ 'unstable' ] } } }

        { 'enum': 'Kind', 'data': [ 'paint', 'none' ] }
        { 'union': 'Thing', 'base': { 'name': 'str', 'kind': 'Kind' },
          'discriminator': 'kind',
          'data': { 'paint': 'Paint' } }

        { 'command': 'mix', 'data': { 'a': 'Paint', '*b': 'int8' }, 'returns': ['Paint'],
          'allow-oob': true }
        { 'command': 'add-thing', 'data': 'Thing', 'boxed': true }
        { 'command': 'ping' }
        { 'command': 'raw', 'gen': false, 'returns': 'any' }
        { 'event': 'PAINT_SPILLED', 'data': { 'paint': 'Paint', '*where': 'str' } }
        { 'event': 'QUIET' }
        """;

    [Fact]
    public void Small_schema_compiles_without_warnings()
    {
        GeneratorHarness.Run("", ("small.json", Small)).AssertCompiles();
    }

    [Fact]
    public void Enum_has_pascal_values_and_helper()
    {
        var r = GeneratorHarness.Run("", ("small.json", Small));
        var color = r.Type("Color")!;
        Assert.Equal(TypeKind.Enum, color.TypeKind);
        Assert.Equal(["DarkRed", "Blue"], color.GetMembers().OfType<IFieldSymbol>().Select(f => f.Name));
        var helper = r.MemberNames("ColorQapi");
        Assert.Contains("Names", helper);
        Assert.Contains("ToQapi", helper);
        Assert.Contains("TryParse", helper);
        Assert.Contains("Visit", helper);
        Assert.Contains("\"dark-red\"", r.Source("Color.g.cs"));
        Assert.Contains("/// the dark one", r.Source("Color.g.cs"));
    }

    [Fact]
    public void Struct_with_base_inherits_and_has_required_and_nullable_members()
    {
        var r = GeneratorHarness.Run("", ("small.json", Small));
        var paint = r.Type("Paint")!;
        var baseType = r.Type("Base")!;
        Assert.True(paint.IsSealed);
        Assert.False(baseType.IsSealed);
        Assert.Equal(baseType, paint.BaseType);
        var color = (IPropertySymbol)paint.GetMembers("Color").Single();
        Assert.True(color.IsRequired);
        var litres = (IPropertySymbol)paint.GetMembers("Litres").Single();
        Assert.False(litres.IsRequired);
        Assert.Equal("uint?", litres.Type.ToDisplayString());
        Assert.Equal("System.Collections.Generic.List<string>?", ((IPropertySymbol)paint.GetMembers("Tags").Single()).Type.ToDisplayString());
        Assert.Equal("Netdevd.Qapi.Objects.QObject?", ((IPropertySymbol)paint.GetMembers("Extra").Single()).Type.ToDisplayString());
        Assert.True(((IPropertySymbol)baseType.GetMembers("Id").Single()).IsRequired);
        foreach (var m in new[] { "Visit", "VisitMembers", "WriteMembers" })
        {
            Assert.NotEmpty(paint.GetMembers(m));
        }

        Assert.NotEmpty(baseType.GetMembers("ToQObject"));
        Assert.Contains("/// Some paint.", r.Source("Paint.g.cs"));
    }

    [Fact]
    public void Union_has_base_members_and_one_nullable_property_per_branch()
    {
        var r = GeneratorHarness.Run("", ("small.json", Small));
        var thing = r.Type("Thing")!;
        Assert.Equal("Netdevd.Qapi.Schema.Kind", ((IPropertySymbol)thing.GetMembers("Kind").Single()).Type.ToDisplayString());
        Assert.Equal("Netdevd.Qapi.Schema.Paint?", ((IPropertySymbol)thing.GetMembers("Paint").Single()).Type.ToDisplayString());
        Assert.Empty(thing.GetMembers("None"));
        Assert.Contains("Paint.VisitMembers(v, branch)", r.Source("Thing.g.cs"));
    }

    [Fact]
    public void Commands_give_argument_classes_handlers_and_table()
    {
        var r = GeneratorHarness.Run("", ("small.json", Small));
        Assert.NotNull(r.Type("MixArguments"));
        Assert.Null(r.Type("AddThingArguments")); // boxed: uses Thing itself
        var handlers = r.Type("IQapiCommandHandlers")!;
        string Sig(string name) => ((IMethodSymbol)handlers.GetMembers(name).Single()).ToDisplayString();
        Assert.Equal(
            "Netdevd.Qapi.Schema.IQapiCommandHandlers.MixAsync(Netdevd.Qapi.Schema.MixArguments, Netdevd.Qapi.Commands.QapiCommandContext)",
            Sig("MixAsync"));
        Assert.Equal(
            "System.Threading.Tasks.ValueTask<System.Collections.Generic.IReadOnlyList<Netdevd.Qapi.Schema.Paint>>",
            ((IMethodSymbol)handlers.GetMembers("MixAsync").Single()).ReturnType.ToDisplayString());
        Assert.Equal("System.Threading.Tasks.ValueTask", ((IMethodSymbol)handlers.GetMembers("PingAsync").Single()).ReturnType.ToDisplayString());
        Assert.Single(((IMethodSymbol)handlers.GetMembers("PingAsync").Single()).Parameters);
        Assert.Equal(
            "Netdevd.Qapi.Schema.IQapiCommandHandlers.RawAsync(Netdevd.Qapi.Objects.QDict, Netdevd.Qapi.Commands.QapiCommandContext)",
            Sig("RawAsync"));
        Assert.Equal("Netdevd.Qapi.Schema.IQapiCommandHandlers.AddThingAsync(Netdevd.Qapi.Schema.Thing, Netdevd.Qapi.Commands.QapiCommandContext)", Sig("AddThingAsync"));
        var table = r.Source("QapiCommands.g.cs");
        Assert.Contains("new global::Netdevd.Qapi.Commands.QapiCommand(\"mix\", false, true,", table);
        Assert.Contains("QObjectInputVisitor(arguments)", table);
    }

    [Fact]
    public void Events_get_factories_with_optional_parameters_last()
    {
        var r = GeneratorHarness.Run("", ("small.json", Small));
        var events = r.Type("QapiEvents")!;
        var spilled = (IMethodSymbol)events.GetMembers("PaintSpilled").Single();
        Assert.Equal(["paint", "where"], spilled.Parameters.Select(p => p.Name));
        Assert.True(spilled.Parameters[1].HasExplicitDefaultValue);
        Assert.Empty(((IMethodSymbol)events.GetMembers("Quiet").Single()).Parameters);
    }

    [Fact]
    public void Introspection_masks_type_names_and_lists_commands_first()
    {
        var src = GeneratorHarness.Run("", ("small.json", Small)).Source("QapiIntrospection.g.cs");
        Assert.Contains("D((\"name\", S(\"mix\")), (\"meta-type\", S(\"command\")), (\"arg-type\", S(\"0\")), (\"ret-type\", S(\"[1]\")), (\"allow-oob\", global::Netdevd.Qapi.Objects.QBool.True))", src);
        Assert.DoesNotContain("S(\"Paint\")", src);
        Assert.Contains("(\"default\", global::Netdevd.Qapi.Objects.QNull.Instance)", src);
        Assert.Contains("(\"json-type\", S(\"int\"))", src); // uint32 and int8 collapse into 'int'
        Assert.DoesNotContain("S(\"uint32\")", src);
        Assert.Contains("(\"features\", L(S(\"unstable\")))", src);
    }
}
