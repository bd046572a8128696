using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using Netdevd.Qapi.Generator;

namespace Netdevd.Qapi.Generator.Tests;

/// <summary>Runs the generator on in-memory schema files and compiles what it produces.</summary>
internal static class GeneratorHarness
{
    public const string Root = "/virtual/qapi/";

    public static GeneratorResult Run(string defines, params (string Name, string Text)[] files)
    {
        var texts = files.Select(f => (AdditionalText)new InMemoryText(f.Name.StartsWith('/') ? f.Name : Root + f.Name, f.Text)).ToImmutableArray();
        var options = new Options(new Dictionary<string, string> { ["build_property.QapiDefines"] = defines });
        var compilation = CSharpCompilation.Create(
            "SchemaUnderTest",
            [CSharpSyntaxTree.ParseText("namespace Probe; internal static class Empty { }")],
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            [new QapiSourceGenerator().AsSourceGenerator()],
            texts,
            (CSharpParseOptions)compilation.SyntaxTrees[0].Options,
            options);
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        return new GeneratorResult(driver.GetRunResult(), output, generatorDiagnostics);
    }

    /// <summary>Everything the running test references: the framework and Netdevd.Qapi (the runtime types).</summary>
    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).ToList();
        paths.Add(typeof(Netdevd.Qapi.Objects.QDict).Assembly.Location);
        return [.. paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    });

    private sealed class InMemoryText(string path, string text) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }

    private sealed class Options(Dictionary<string, string> global) : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Dict(global);

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => new Dict([]);

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => new Dict([]);

        private sealed class Dict(Dictionary<string, string> values) : AnalyzerConfigOptions
        {
            public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => values.TryGetValue(key, out value);
        }
    }
}

internal sealed record GeneratorResult(GeneratorDriverRunResult Run, Compilation Compilation, ImmutableArray<Diagnostic> GeneratorDiagnostics)
{
    /// <summary>Errors and warnings of the compiled output. CS0436 is expected: the test
    /// compilation defines types of the same names as the referenced Netdevd.Qapi.</summary>
    public IReadOnlyList<Diagnostic> CompileProblems =>
        Compilation.GetDiagnostics()
            .Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Id != "CS0436")
            .ToList();

    public string Source(string hintName) =>
        Run.Results.Single().GeneratedSources.Single(s => s.HintName == hintName).SourceText.ToString();

    public IReadOnlyList<string> HintNames => Run.Results.Single().GeneratedSources.Select(s => s.HintName).ToList();

    public INamedTypeSymbol? Type(string name) => Compilation.Assembly.GetTypeByMetadataName("Netdevd.Qapi.Schema." + name);

    public IReadOnlyList<string> MemberNames(string type) =>
        Type(type)!.GetMembers().Select(m => m.Name).ToList();

    public void AssertCompiles()
    {
        Assert.Empty(GeneratorDiagnostics);
        var problems = CompileProblems;
        Assert.True(problems.Count == 0, string.Join("\n", problems.Select(p => p.ToString())));
    }
}
