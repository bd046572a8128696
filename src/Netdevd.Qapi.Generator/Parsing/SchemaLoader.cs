using System;
using System.Collections.Generic;
using System.IO;

namespace Netdevd.Qapi.Generator.Parsing;

/// <summary>
/// Turns the set of schema files handed to the generator into one ordered expression list.
/// Every file is a candidate root, but a file that another one includes is read only where it
/// is included, and only once (the csproj passes qapi/*.json, so netdevd.json, net.json and
/// sockets.json all arrive, and net.json is both a file and an include of netdevd.json).
/// </summary>
internal sealed class SchemaLoader
{
    private readonly Dictionary<string, string> _texts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ParsedExpression>> _parsed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _visited = new(StringComparer.Ordinal);
    private readonly List<SchemaException> _errors;

    public SchemaLoader(IEnumerable<KeyValuePair<string, string>> files, List<SchemaException> errors)
    {
        foreach (var f in files)
        {
            _texts[Normalize(f.Key)] = f.Value;
        }

        _errors = errors;
    }

    /// <summary>All expressions, grouped by module in QEMU's order: the root file first, then
    /// each included file in the order it was first included.</summary>
    public List<List<ParsedExpression>> Load()
    {
        var paths = new List<string>(_texts.Keys);
        paths.Sort(StringComparer.Ordinal);
        var included = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in paths)
        {
            foreach (var e in ParseOnce(p))
            {
                if (IncludeTarget(e) is { } target)
                {
                    included.Add(target);
                }
            }
        }

        var modules = new List<List<ParsedExpression>>();
        foreach (var p in paths)
        {
            if (!included.Contains(p))
            {
                Visit(p, modules);
            }
        }

        // Include cycles leave files that no root reaches; read them anyway so nothing is lost.
        foreach (var p in paths)
        {
            Visit(p, modules);
        }

        return modules;
    }

    private void Visit(string path, List<List<ParsedExpression>> modules)
    {
        if (!_visited.Add(path))
        {
            return;
        }

        var own = new List<ParsedExpression>();
        modules.Add(own);
        foreach (var e in ParseOnce(path))
        {
            if (e.Expr.Get("include") is { } inc)
            {
                var target = IncludeTarget(e);
                if (target is null)
                {
                    _errors.Add(new SchemaException(e.File, inc.Line, "value of 'include' must be a string", DiagnosticIds.Syntax));
                }
                else if (!_texts.ContainsKey(target))
                {
                    _errors.Add(new SchemaException(e.File, inc.Line, $"can't read include file '{((SchemaString)inc).Value}': it is not among the AdditionalFiles (looked for {target})", DiagnosticIds.IncludeNotFound));
                }
                else
                {
                    Visit(target, modules);
                }

                continue;
            }

            own.Add(e);
        }
    }

    private List<ParsedExpression> ParseOnce(string path)
    {
        if (_parsed.TryGetValue(path, out var list))
        {
            return list;
        }

        try
        {
            list = SchemaParser.Parse(path, _texts[path]);
        }
        catch (SchemaException ex)
        {
            _errors.Add(ex);
            list = new List<ParsedExpression>();
        }

        _parsed[path] = list;
        return list;
    }

    private static string? IncludeTarget(ParsedExpression e)
    {
        if (e.Expr.Get("include") is SchemaString s)
        {
            var dir = Path.GetDirectoryName(e.File) ?? "";
            return Normalize(Path.Combine(dir, s.Value));
        }

        return null;
    }

    private static string Normalize(string path)
    {
        try
        {
            return Path.GetFullPath(path);
        }
        catch (ArgumentException)
        {
            return path;
        }
    }
}
