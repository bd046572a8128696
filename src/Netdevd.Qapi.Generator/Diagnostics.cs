using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Netdevd.Qapi.Generator.Parsing;

namespace Netdevd.Qapi.Generator;

/// <summary>The generator's diagnostics: every schema error is a build error pointing at its file and line.</summary>
internal static class Diagnostics
{
    private static readonly Dictionary<string, DiagnosticDescriptor> Descriptors = new()
    {
        [DiagnosticIds.Syntax] = Make(DiagnosticIds.Syntax, "QAPI schema syntax error"),
        [DiagnosticIds.UnknownType] = Make(DiagnosticIds.UnknownType, "Unknown QAPI type"),
        [DiagnosticIds.Invalid] = Make(DiagnosticIds.Invalid, "Invalid QAPI definition"),
        [DiagnosticIds.IncludeNotFound] = Make(DiagnosticIds.IncludeNotFound, "QAPI include not found"),
        [DiagnosticIds.Unsupported] = Make(DiagnosticIds.Unsupported, "Unsupported QAPI construct"),
        [DiagnosticIds.Duplicate] = Make(DiagnosticIds.Duplicate, "Duplicate QAPI definition"),
    };

    public static Diagnostic Create(SchemaException e, ImmutableArray<SchemaFile> files)
    {
        var descriptor = Descriptors[e.Id];
        var line = e.Line > 0 ? e.Line - 1 : 0;
        var span = new LinePositionSpan(new LinePosition(line, 0), new LinePosition(line, 0));
        var location = Location.Create(e.File, Span(files, e.File, line), span);
        return Diagnostic.Create(descriptor, location, e.Message);
    }

    // The text span of the line's start, so IDEs that look at spans land on the right line too.
    private static TextSpan Span(ImmutableArray<SchemaFile> files, string path, int line)
    {
        foreach (var f in files)
        {
            if (System.IO.Path.GetFullPath(f.Path) == path)
            {
                var offset = 0;
                for (var i = 0; i < line && offset >= 0; i++)
                {
                    offset = f.Text.IndexOf('\n', offset);
                    offset = offset < 0 ? -1 : offset + 1;
                }

                return new TextSpan(offset < 0 ? 0 : offset, 0);
            }
        }

        return default;
    }

    private static DiagnosticDescriptor Make(string id, string title) =>
        new(id, title, "{0}", "QAPI", DiagnosticSeverity.Error, isEnabledByDefault: true);
}
