using System.Collections.Generic;
using Netdevd.Qapi.Generator.Parsing;

namespace Netdevd.Qapi.Generator.Model;

/// <summary>
/// Decides QAPI 'if' conditions at generation time. QEMU turns them into #if around the
/// generated C; netdevd has one build configuration per platform, so a false condition
/// simply removes the item (QapiDefines names what is true).
/// </summary>
internal sealed class ConditionEvaluator
{
    private readonly HashSet<string> _defines;

    public ConditionEvaluator(IEnumerable<string> defines) => _defines = new HashSet<string>(defines);

    /// <summary>Parses the MSBuild property value: a semicolon (or comma) separated list.</summary>
    public static ConditionEvaluator FromProperty(string? value)
    {
        var list = new List<string>();
        foreach (var part in (value ?? "").Split(';', ','))
        {
            var t = part.Trim();
            if (t.Length > 0)
            {
                list.Add(t);
            }
        }

        return new ConditionEvaluator(list);
    }

    /// <summary>True when there is no condition or it holds.</summary>
    public bool IsTrue(SchemaValue? condition, string file)
    {
        switch (condition)
        {
            case null:
                return true;
            case SchemaString s:
                return _defines.Contains(s.Value);
            case SchemaDict d when d.Members.Count == 1:
                var op = d.Members[0].Key;
                var arg = d.Members[0].Value;
                switch (op)
                {
                    case "not":
                        return !IsTrue(arg, file);
                    case "all":
                    case "any":
                        if (arg is not SchemaList list || list.Items.Count == 0)
                        {
                            throw new SchemaException(file, d.Line, $"'if' condition '{op}' needs a non-empty list", DiagnosticIds.Invalid);
                        }

                        foreach (var item in list.Items)
                        {
                            var v = IsTrue(item, file);
                            if (op == "all" && !v)
                            {
                                return false;
                            }

                            if (op == "any" && v)
                            {
                                return true;
                            }
                        }

                        return op == "all";
                    default:
                        throw new SchemaException(file, d.Line, $"'if' condition has unknown operator '{op}'", DiagnosticIds.Invalid);
                }

            default:
                throw new SchemaException(file, condition.Line, "'if' condition must be a string or a dict with one of 'all', 'any', 'not'", DiagnosticIds.Invalid);
        }
    }
}
