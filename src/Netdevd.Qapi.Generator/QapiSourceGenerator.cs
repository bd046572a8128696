using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Netdevd.Qapi.Generator.Emit;
using Netdevd.Qapi.Generator.Model;
using Netdevd.Qapi.Generator.Parsing;

namespace Netdevd.Qapi.Generator;

/// <summary>
/// Generates Netdevd.Qapi.Schema from the QAPI schema files (AdditionalFiles named
/// qapi/*.json) under the conditions in the build property QapiDefines.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class QapiSourceGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Only the path and text travel down the pipeline: both compare by value, so an
        // unchanged schema does not regenerate.
        var files = context.AdditionalTextsProvider
            .Where(static f => IsSchemaFile(f.Path))
            .Select(static (f, ct) => new SchemaFile(f.Path, f.GetText(ct)?.ToString() ?? ""))
            .Collect();
        // QapiDefinesList is QapiDefines with commas (see Netdevd.Qapi.csproj: a ';' would end
        // the value in the analyzer config file); hosts that pass options directly may use either.
        var defines = context.AnalyzerConfigOptionsProvider
            .Select(static (o, _) =>
                o.GlobalOptions.TryGetValue("build_property.QapiDefinesList", out var list) && !string.IsNullOrWhiteSpace(list) ? list
                : o.GlobalOptions.TryGetValue("build_property.QapiDefines", out var v) ? v : "");
        context.RegisterSourceOutput(files.Combine(defines), static (spc, input) => Generate(spc, input.Left, input.Right));
    }

    // A .json file in a folder named qapi, or below one (so that includes may use subfolders).
    private static bool IsSchemaFile(string path)
    {
        if (!path.EndsWith(".json", System.StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        for (var dir = Path.GetDirectoryName(path); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if (Path.GetFileName(dir) == "qapi")
            {
                return true;
            }
        }

        return false;
    }

    private static void Generate(SourceProductionContext spc, ImmutableArray<SchemaFile> files, string defines)
    {
        if (files.IsDefaultOrEmpty)
        {
            return;
        }

        var sources = SchemaCompiler.Compile(files, defines, out var errors);
        foreach (var e in errors)
        {
            spc.ReportDiagnostic(Diagnostics.Create(e, files));
        }

        foreach (var s in sources)
        {
            spc.AddSource(s.HintName, SourceText.From(s.Text, Encoding.UTF8));
        }
    }
}

/// <summary>One schema file as the pipeline carries it.</summary>
internal sealed record SchemaFile(string Path, string Text);
