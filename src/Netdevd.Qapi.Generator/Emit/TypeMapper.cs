using Netdevd.Qapi.Generator.Model;

namespace Netdevd.Qapi.Generator.Emit;

/// <summary>
/// How each QAPI type appears in C#: its type name, the visitor call that reads it and the
/// expression that turns a value back into a QObject. Names are global:: qualified so that
/// generated code does not depend on the consumer's usings.
/// </summary>
internal static class TypeMapper
{
    public const string Objects = "global::Netdevd.Qapi.Objects.";
    public const string Visitors = "global::Netdevd.Qapi.Visitors.";
    public const string Visitor = Visitors + "IQapiInputVisitor";
    public const string Helpers = "global::Netdevd.Qapi.Schema.QapiGeneratedHelpers";

    public static string CSharpType(TypeRef r) =>
        r.IsArray ? "global::System.Collections.Generic.List<" + Element(r.Type) + ">" : Element(r.Type);

    /// <summary>Nullable form for optional members (value types become Nullable).</summary>
    public static string Optional(TypeRef r) => CSharpType(r) + "?";

    public static bool IsReferenceType(TypeRef r) => r.IsArray || !(r.Type is QapiEnum || (r.Type is QapiBuiltin b && b.Name != "str" && b.Name != "any" && b.Name != "null"));

    public static string Element(QapiType t) => t switch
    {
        QapiBuiltin b => b.Name switch
        {
            "str" => "string",
            "int" or "int64" => "long",
            "int8" => "sbyte",
            "int16" => "short",
            "int32" => "int",
            "uint8" => "byte",
            "uint16" => "ushort",
            "uint32" => "uint",
            "uint64" or "size" => "ulong",
            "number" => "double",
            "bool" => "bool",
            "null" => Objects + "QNull",
            _ => Objects + "QObject",
        },
        _ => "global::Netdevd.Qapi.Schema." + NameMangler.TypeName(t),
    };

    /// <summary>The expression visiting a value of <paramref name="r"/> named by <paramref name="name"/> (a C# expression).</summary>
    public static string Visit(TypeRef r, string v, string name) =>
        r.IsArray
            ? $"{Helpers}.VisitList({v}, {name}, static (ev, en) => {ElementVisit(r.Type, "ev", "en")})"
            : ElementVisit(r.Type, v, name);

    public static string ElementVisit(QapiType t, string v, string n) => t switch
    {
        QapiBuiltin b => b.Name switch
        {
            "str" => $"{v}.TypeStr({n})",
            "int" or "int64" => $"{v}.TypeInt64({n})",
            "int8" => $"{Visitors}QapiVisit.Int8({v}, {n})",
            "int16" => $"{Visitors}QapiVisit.Int16({v}, {n})",
            "int32" => $"{Visitors}QapiVisit.Int32({v}, {n})",
            "uint8" => $"{Visitors}QapiVisit.UInt8({v}, {n})",
            "uint16" => $"{Visitors}QapiVisit.UInt16({v}, {n})",
            "uint32" => $"{Visitors}QapiVisit.UInt32({v}, {n})",
            "uint64" => $"{v}.TypeUInt64({n})",
            "size" => $"{v}.TypeSize({n})",
            "number" => $"{v}.TypeNumber({n})",
            "bool" => $"{v}.TypeBool({n})",
            "null" => $"{Helpers}.VisitNull({v}, {n})",
            _ => $"{v}.TypeAny({n})",
        },
        QapiEnum e => $"global::Netdevd.Qapi.Schema.{NameMangler.EnumHelper(e)}.Visit({v}, {n})",
        _ => $"{Element(t)}.Visit({v}, {n})",
    };

    /// <summary>The QObject for a (non-null) value.</summary>
    public static string ToQObject(TypeRef r, string expr) =>
        r.IsArray
            ? $"{Helpers}.ToQList({expr}, static e => {ElementToQObject(r.Type, "e")})"
            : ElementToQObject(r.Type, expr);

    public static string ElementToQObject(QapiType t, string expr) => t switch
    {
        QapiBuiltin b => b.Name switch
        {
            "str" => $"new {Objects}QString({expr})",
            "uint64" or "size" => $"new {Objects}QNum({expr})",
            "number" => $"new {Objects}QNum({expr})",
            "bool" => $"{Objects}QBool.From({expr})",
            "null" => $"{Objects}QNull.Instance",
            "any" => expr,
            _ => $"new {Objects}QNum((long){expr})",
        },
        QapiEnum e => $"new {Objects}QString(global::Netdevd.Qapi.Schema.{NameMangler.EnumHelper(e)}.ToQapi({expr}))",
        _ => $"{expr}.ToQObject()",
    };
}
