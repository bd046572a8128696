using Netdevd.Qapi.Generator.Model;

namespace Netdevd.Qapi.Generator.Emit;

/// <summary>An enum and its '{Enum}Qapi' helper: QAPI spellings, conversions and the visit.</summary>
internal static class EnumEmitter
{
    public static string Emit(QapiEnum e)
    {
        var w = new CodeWriter();
        var name = NameMangler.Pascal(e.Name);
        var helper = NameMangler.EnumHelper(e);
        w.Summary(e.Doc?.Body);
        w.Open("public enum " + name);
        foreach (var v in e.Values)
        {
            w.Summary(v.Doc ?? $"QAPI '{v.Name}'.");
            w.Line(NameMangler.Pascal(v.Name) + ",");
        }

        w.Close();
        w.Line();
        w.SummaryXml($"The QAPI names of <see cref=\"{name}\"/> and their visit.");
        w.Open($"public static class {helper}");
        w.Line("private static readonly string[] s_names =");
        w.Line("{");
        foreach (var v in e.Values)
        {
            w.Line("    " + CodeWriter.Literal(v.Name) + ",");
        }

        w.Line("};");
        w.Line();
        w.Summary("The QAPI spellings, in schema order (the order of the enum's values).");
        w.Line("public static global::System.Collections.Generic.IReadOnlyList<string> Names { get; } = global::System.Array.AsReadOnly(s_names);");
        w.Line();
        w.Line($"public static string ToQapi(this {name} value) => s_names[(int)value];");
        w.Line();
        w.Open($"public static bool TryParse(string name, out {name} value)");
        w.Open("for (var i = 0; i < s_names.Length; i++)");
        w.Open("if (string.Equals(s_names[i], name, global::System.StringComparison.Ordinal))");
        w.Line($"value = ({name})i;");
        w.Line("return true;");
        w.Close();
        w.Close();
        w.Line();
        w.Line("value = default;");
        w.Line("return false;");
        w.Close();
        w.Line();
        w.Line($"public static {name} Visit({TypeMapper.Visitor} v, string? name) => ({name}){TypeMapper.Visitors}QapiVisit.Enum(v, name, s_names);");
        w.Close();
        return w.ToString();
    }
}
