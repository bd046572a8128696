namespace Netdevd.Qapi.Generator.Emit;

/// <summary>Small routines the generated types share (lists, null), emitted once.</summary>
internal static class HelpersEmitter
{
    public static string Emit()
    {
        var w = new CodeWriter();
        w.Summary("Shared routines of the generated QAPI types.");
        w.Open("internal static class QapiGeneratedHelpers");
        w.Open($"public static global::System.Collections.Generic.List<T> VisitList<T>({TypeMapper.Visitor} v, string? name, global::System.Func<{TypeMapper.Visitor}, string?, T> element)");
        w.Line("var list = new global::System.Collections.Generic.List<T>();");
        w.Open("if (v.StartList(name))");
        w.Open("while (v.NextListElement())");
        w.Line("list.Add(element(v, null));");
        w.Close();
        w.Line();
        w.Line("v.EndList();");
        w.Close();
        w.Line();
        w.Line("return list;");
        w.Close();
        w.Line();
        w.Open($"public static {TypeMapper.Objects}QList ToQList<T>(global::System.Collections.Generic.IEnumerable<T> items, global::System.Func<T, {TypeMapper.Objects}QObject> element)");
        w.Line($"var list = new {TypeMapper.Objects}QList();");
        w.Open("foreach (var item in items)");
        w.Line("list.Add(element(item));");
        w.Close();
        w.Line();
        w.Line("return list;");
        w.Close();
        w.Line();
        w.Open($"public static {TypeMapper.Objects}QNull VisitNull({TypeMapper.Visitor} v, string? name)");
        w.Line("v.TypeNull(name);");
        w.Line($"return {TypeMapper.Objects}QNull.Instance;");
        w.Close();
        w.Close();
        return w.ToString();
    }
}
