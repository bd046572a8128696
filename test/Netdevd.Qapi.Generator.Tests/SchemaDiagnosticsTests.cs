using Microsoft.CodeAnalysis;

namespace Netdevd.Qapi.Generator.Tests;

/// <summary>Conditions, includes and the errors the generator reports.</summary>
public sealed class SchemaDiagnosticsTests
{
    private const string Conditional = """
        { 'enum': 'Drv', 'data': [ 'a', { 'name': 'b', 'if': 'HAVE_B' }, { 'name': 'c', 'if': { 'not': 'HAVE_B' } } ] }
        { 'struct': 'OptA', 'data': { 'x': 'str', '*y': { 'type': 'int', 'if': { 'all': [ 'HAVE_B', 'HAVE_Y' ] } } } }
        { 'struct': 'OptB', 'data': { 'z': 'str' }, 'if': 'HAVE_B' }
        { 'union': 'U', 'base': { 'type': 'Drv' }, 'discriminator': 'type',
          'data': { 'a': 'OptA', 'b': { 'type': 'OptB', 'if': 'HAVE_B' } } }
        { 'command': 'only-b', 'if': { 'any': [ 'HAVE_B', 'HAVE_C' ] } }
        { 'command': 'always' }
        """;

    [Fact]
    public void False_conditions_remove_values_members_branches_and_definitions()
    {
        var r = GeneratorHarness.Run("OTHER", ("c.json", Conditional));
        r.AssertCompiles();
        Assert.Equal(["A", "C"], r.Type("Drv")!.GetMembers().OfType<IFieldSymbol>().Select(f => f.Name));
        Assert.Null(r.Type("OptB"));
        Assert.Empty(r.Type("OptA")!.GetMembers("Y"));
        Assert.Empty(r.Type("U")!.GetMembers("B"));
        Assert.Empty(r.Type("IQapiCommandHandlers")!.GetMembers("OnlyBAsync"));
        Assert.DoesNotContain("only-b", r.Source("QapiIntrospection.g.cs"));
    }

    [Fact]
    public void True_conditions_keep_them()
    {
        var r = GeneratorHarness.Run("HAVE_B;HAVE_Y", ("c.json", Conditional));
        r.AssertCompiles();
        Assert.Equal(["A", "B"], r.Type("Drv")!.GetMembers().OfType<IFieldSymbol>().Select(f => f.Name));
        Assert.NotNull(r.Type("OptB"));
        Assert.NotEmpty(r.Type("OptA")!.GetMembers("Y"));
        Assert.NotEmpty(r.Type("U")!.GetMembers("B"));
        Assert.NotEmpty(r.Type("IQapiCommandHandlers")!.GetMembers("OnlyBAsync"));
    }

    [Fact]
    public void Comma_separated_defines_work_too()
    {
        var r = GeneratorHarness.Run("HAVE_B, HAVE_Y", ("c.json", Conditional));
        Assert.NotEmpty(r.Type("OptA")!.GetMembers("Y"));
    }

    [Fact]
    public void Unknown_type_is_an_error_with_file_and_line()
    {
        var r = GeneratorHarness.Run("", ("bad.json", "{ 'struct': 'S',\n  'data': { 'a': 'str',\n            'b': 'Nope' } }\n"));
        var d = Assert.Single(r.GeneratorDiagnostics);
        Assert.Equal("QAPI002", d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Contains("Nope", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        var span = d.Location.GetLineSpan();
        Assert.Equal(GeneratorHarness.Root + "bad.json", span.Path);
        Assert.Equal(2, span.StartLinePosition.Line); // zero-based: line 3
        Assert.Empty(r.HintNames);
    }

    [Fact]
    public void Using_a_type_whose_condition_is_false_is_an_error()
    {
        var r = GeneratorHarness.Run("", ("x.json", "{ 'struct': 'A', 'data': {}, 'if': 'NO' }\n{ 'struct': 'B', 'data': { 'a': 'A' } }\n"));
        var d = Assert.Single(r.GeneratorDiagnostics);
        Assert.Equal("QAPI002", d.Id);
        Assert.Contains("condition is false", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("{ 'struct': 'S', 'data': { 'a': 'str' }", 1)]
    [InlineData("{ 'struct': 'S',\n 'data': { 'a' 'str' } }", 2)]
    [InlineData("{ 'struct': 'S', 'data': { 'a': \"str } }", 1)]
    [InlineData("\n\n[ 'x' ]", 3)]
    [InlineData("{ 'struct': 'S', 'data': { 'a': 'str', 'a': 'int' } }", 1)]
    public void Syntax_errors_are_reported_with_their_line(string text, int line)
    {
        var r = GeneratorHarness.Run("", ("syn.json", text));
        var d = Assert.Single(r.GeneratorDiagnostics);
        Assert.Equal("QAPI001", d.Id);
        Assert.Equal(line - 1, d.Location.GetLineSpan().StartLinePosition.Line);
    }

    [Fact]
    public void Invalid_definitions_are_reported()
    {
        var r = GeneratorHarness.Run("", ("inv.json", "{ 'enum': 'E', 'data': ['a'] }\n{ 'union': 'U', 'base': { 'k': 'str' }, 'discriminator': 'k', 'data': {} }\n{ 'frob': 'x' }\n{ 'struct': 'E', 'data': {} }\n"));
        // The unknown metatype, the duplicate 'E' and the union whose discriminator is not an enum.
        Assert.Equal(["QAPI003", "QAPI003", "QAPI006"], r.GeneratorDiagnostics.Select(d => d.Id).Order());
    }

    [Fact]
    public void Includes_are_followed_relative_to_the_including_file_and_read_once()
    {
        var r = GeneratorHarness.Run(
            "",
            ("root.json", "{ 'include': 'sub/common.json' }\n{ 'command': 'get', 'returns': 'Common' }\n"),
            ("/virtual/qapi/sub/common.json", "{ 'include': '../shared.json' }\n{ 'struct': 'Common', 'data': { 's': 'Shared' } }\n"),
            ("shared.json", "{ 'struct': 'Shared', 'data': { 'x': 'str' } }\n"));
        r.AssertCompiles();
        Assert.NotNull(r.Type("Common"));
        Assert.NotNull(r.Type("Shared"));
    }

    [Fact]
    public void A_file_included_twice_is_read_once()
    {
        var r = GeneratorHarness.Run(
            "",
            ("a.json", "{ 'include': 'common.json' }\n{ 'include': 'b.json' }\n{ 'command': 'ca', 'returns': 'C' }\n"),
            ("b.json", "{ 'include': 'common.json' }\n{ 'command': 'cb', 'returns': 'C' }\n"),
            ("common.json", "{ 'struct': 'C', 'data': { 'x': 'str' } }\n"));
        r.AssertCompiles();
        var intro = r.Source("QapiIntrospection.g.cs");
        Assert.True(intro.IndexOf("S(\"ca\")", StringComparison.Ordinal) < intro.IndexOf("S(\"cb\")", StringComparison.Ordinal), "root module first");
    }

    [Fact]
    public void Missing_include_is_an_error()
    {
        var r = GeneratorHarness.Run("", ("a.json", "{ 'include': 'gone.json' }\n"));
        Assert.Equal("QAPI004", Assert.Single(r.GeneratorDiagnostics).Id);
    }

    [Fact]
    public void Files_outside_a_qapi_folder_are_ignored()
    {
        var r = GeneratorHarness.Run("", ("/virtual/other/x.json", "{ 'struct': 'S', 'data': { 'a': 'Nope' } }"));
        Assert.Empty(r.GeneratorDiagnostics);
        Assert.Empty(r.HintNames);
    }
}
