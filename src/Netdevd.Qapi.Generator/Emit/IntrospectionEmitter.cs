using System.Collections.Generic;
using System.Text;
using Netdevd.Qapi.Generator.Model;

namespace Netdevd.Qapi.Generator.Emit;

/// <summary>QapiIntrospection: code that builds the SchemaInfo list computed by <see cref="IntrospectionBuilder"/>.</summary>
internal static class IntrospectionEmitter
{
    private const string O = TypeMapper.Objects;

    public static string Emit(SchemaModel model)
    {
        var trees = new IntrospectionBuilder(model).Build();
        var w = new CodeWriter();
        w.Summary("What query-qmp-schema returns (QEMU's SchemaInfo list, type names masked as QEMU masks them).");
        w.Open("public static class QapiIntrospection");
        w.Summary("A new list on every call, so callers may change what they get.");
        w.Line($"public static {O}QList SchemaInfo => Build();");
        w.Line();
        w.Open($"private static {O}QList Build()");
        w.Line($"var list = new {O}QList();");
        foreach (var t in trees)
        {
            w.Line($"list.Add({Expr(t)});");
        }

        w.Line("return list;");
        w.Close();
        w.Line();
        w.Open($"private static {O}QDict D(params (string Key, {O}QObject Value)[] members)");
        w.Line($"var d = new {O}QDict();");
        w.Open("foreach (var (key, value) in members)");
        w.Line("d.Put(key, value);");
        w.Close();
        w.Line();
        w.Line("return d;");
        w.Close();
        w.Line();
        w.Line($"private static {O}QList L(params {O}QObject[] items) => new(items);");
        w.Line();
        w.Line($"private static {O}QString S(string value) => new(value);");
        w.Close();
        return w.ToString();
    }

    private static string Expr(IntroNode n)
    {
        switch (n)
        {
            case IntroString s:
                return "S(" + CodeWriter.Literal(s.Value) + ")";
            case IntroBool b:
                return O + (b.Value ? "QBool.True" : "QBool.False");
            case IntroNull:
                return O + "QNull.Instance";
            case IntroList l:
                var items = new List<string>();
                foreach (var i in l.Items)
                {
                    items.Add(Expr(i));
                }

                return "L(" + string.Join(", ", items) + ")";
            default:
                var sb = new StringBuilder("D(");
                var first = true;
                foreach (var m in ((IntroDict)n).Members)
                {
                    if (!first)
                    {
                        sb.Append(", ");
                    }

                    first = false;
                    sb.Append('(').Append(CodeWriter.Literal(m.Key)).Append(", ").Append(Expr(m.Value)).Append(')');
                }

                return sb.Append(')').ToString();
        }
    }
}
