using System.Collections.Generic;
using Netdevd.Qapi.Generator.Model;

namespace Netdevd.Qapi.Generator.Emit;

/// <summary>
/// Structs and flat unions: properties, the input visit (Visit, VisitMembers) and the output
/// (ToQObject, WriteMembers). A union is a struct of its base members plus one nullable
/// property per branch; its branch members are read from and written to the same dict.
/// </summary>
internal static class ObjectEmitter
{
    public static string EmitStruct(QapiStruct s, SchemaModel model)
    {
        var cls = NameMangler.TypeName(s);
        var isBase = model.BaseNames.Contains(s.Name);
        var baseCls = s.Base is { } b ? NameMangler.TypeName(b) : null;
        var w = new CodeWriter();
        w.Summary(s.Doc?.Body);
        w.Open($"public {(isBase ? "" : "sealed ")}partial class {cls}{(baseCls != null ? " : " + baseCls : "")}");
        Constructors(w, cls, s.Members, baseCls != null);
        Properties(w, cls, s.Members);

        VisitMethod(w, cls, baseCls != null);
        w.Summary("Visits the members (base members first) into <paramref name=\"target\"/>, inside a struct the caller started.");
        w.Open($"public static void VisitMembers({TypeMapper.Visitor} v, {cls} target)");
        if (baseCls != null)
        {
            w.Line($"{baseCls}.VisitMembers(v, target);");
        }

        VisitMembersBody(w, cls, s.Members);
        w.Close();
        w.Line();

        if (baseCls == null)
        {
            ToQObjectMethod(w);
        }

        var modifier = baseCls != null ? "override " : isBase ? "virtual " : "";
        w.Summary("Writes the members that are set into <paramref name=\"d\"/>.");
        w.Open($"public {modifier}void WriteMembers({TypeMapper.Objects}QDict d)");
        if (baseCls != null)
        {
            w.Line("base.WriteMembers(d);");
        }

        WriteMembersBody(w, cls, s.Members, 0);
        w.Close();
        w.Close();
        return w.ToString();
    }

    public static string EmitUnion(QapiUnion u)
    {
        var cls = NameMangler.TypeName(u);
        var baseCls = u.Base is { } b ? NameMangler.TypeName(b) : null;
        var own = baseCls == null ? u.InlineBaseMembers : new List<QapiMember>();
        var tag = u.DiscriminatorMember();
        var tagEnum = (QapiEnum)tag.Type.Type;
        var tagProp = NameMangler.Property(cls, tag.Name);
        var w = new CodeWriter();
        w.Summary(u.Doc?.Body);
        w.Open($"public sealed partial class {cls}{(baseCls != null ? " : " + baseCls : "")}");
        Constructors(w, cls, own, baseCls != null);
        Properties(w, cls, own);

        var taken = new HashSet<string>();
        foreach (var m in u.BaseMembers())
        {
            taken.Add(NameMangler.Property(cls, m.Name));
        }

        var branchProps = new List<(QapiBranch Branch, string Prop, string Type, string Case)>();
        foreach (var br in u.Branches)
        {
            var prop = NameMangler.Property(cls, br.Value);
            if (taken.Contains(prop))
            {
                prop += "Branch";
            }

            var type = TypeMapper.CSharpType(br.Type);
            branchProps.Add((br, prop, type, $"global::Netdevd.Qapi.Schema.{NameMangler.Pascal(tagEnum.Name)}.{NameMangler.Pascal(br.Value)}"));
            w.SummaryXml($"The members of branch '{CodeWriter.Escape(br.Value)}': set exactly when <see cref=\"{tagProp}\"/> selects it.");
            w.Line($"public {type}? {prop} {{ get; set; }}");
            w.Line();
        }

        VisitMethod(w, cls, baseCls != null);
        w.Summary("Visits the base members, then the members of the branch the discriminator selects, all in the same dict.");
        w.Open($"public static void VisitMembers({TypeMapper.Visitor} v, {cls} target)");
        if (baseCls != null)
        {
            w.Line($"{baseCls}.VisitMembers(v, target);");
        }

        VisitMembersBody(w, cls, own);
        if (branchProps.Count == 0)
        {
            w.Close();
            w.Line();
        }
        else
        {
            EmitVisitSwitch(w, tagProp, branchProps);
        }

        EmitUnionOutput(w, cls, baseCls, own, tagProp, branchProps);
        return w.ToString();
    }

    private static void EmitVisitSwitch(CodeWriter w, string tagProp, List<(QapiBranch Branch, string Prop, string Type, string Case)> branchProps)
    {
        w.Open($"switch (target.{tagProp})");
        foreach (var (br, prop, type, @case) in branchProps)
        {
            w.Line($"case {@case}:");
            w.Line("{");
            w.Line($"    var branch = new {type}(true);");
            w.Line($"    {type}.VisitMembers(v, branch);");
            w.Line($"    target.{prop} = branch;");
            w.Line("    break;");
            w.Line("}");
        }

        w.Close();
        w.Close();
        w.Line();
    }

    private static void EmitUnionOutput(CodeWriter w, string cls, string? baseCls, List<QapiMember> own, string tagProp, List<(QapiBranch Branch, string Prop, string Type, string Case)> branchProps)
    {
        if (baseCls == null)
        {
            ToQObjectMethod(w);
        }

        w.Summary("Writes the base members, then those of the selected branch, flat.");
        w.Open($"public {(baseCls != null ? "override " : "")}void WriteMembers({TypeMapper.Objects}QDict d)");
        if (baseCls != null)
        {
            w.Line("base.WriteMembers(d);");
        }

        WriteMembersBody(w, cls, own, 0);
        if (branchProps.Count > 0)
        {
            w.Open($"switch ({tagProp})");
            foreach (var (_, prop, _, @case) in branchProps)
            {
                w.Line($"case {@case}:");
                w.Line($"    {prop}?.WriteMembers(d);");
                w.Line("    break;");
            }

            w.Close();
        }

        w.Close();
        w.Close();
    }

    private static void Constructors(CodeWriter w, string cls, List<QapiMember> own, bool hasBase)
    {
        w.Summary("Creates an instance; mandatory members are set with an object initializer.");
        w.Line($"public {cls}()");
        w.Line("{");
        w.Line("}");
        w.Line();
        // Visitors fill an instance member by member, so they need one whose mandatory
        // members are not set yet; this constructor says so to the compiler.
        w.Summary("For visitors: an instance whose mandatory members are filled in afterwards.");
        w.Line("[global::System.Diagnostics.CodeAnalysis.SetsRequiredMembers]");
        w.Line($"internal {cls}(bool unset){(hasBase ? " : base(unset)" : "")}");
        w.Line("{");
        w.Line("    _ = unset;");
        foreach (var m in own)
        {
            if (!m.Optional && TypeMapper.IsReferenceType(m.Type))
            {
                w.Line($"    {NameMangler.Property(cls, m.Name)} = null!;");
            }
        }

        w.Line("}");
        w.Line();
    }

    private static void Properties(CodeWriter w, string cls, List<QapiMember> members)
    {
        foreach (var m in members)
        {
            w.Summary(m.Doc);
            var prop = NameMangler.Property(cls, m.Name);
            w.Line(m.Optional
                ? $"public {TypeMapper.Optional(m.Type)} {prop} {{ get; set; }}"
                : $"public required {TypeMapper.CSharpType(m.Type)} {prop} {{ get; set; }}");
            w.Line();
        }
    }

    private static void VisitMethod(CodeWriter w, string cls, bool hasBase)
    {
        w.Summary("Visits a whole struct: its members and nothing else (leftovers are errors).");
        w.Open($"public static {(hasBase ? "new " : "")}{cls} Visit({TypeMapper.Visitor} v, string? name)");
        w.Line("v.StartStruct(name);");
        w.Line($"var result = new {cls}(true);");
        w.Line("VisitMembers(v, result);");
        w.Line("v.CheckStruct();");
        w.Line("v.EndStruct();");
        w.Line("return result;");
        w.Close();
        w.Line();
    }

    private static void ToQObjectMethod(CodeWriter w)
    {
        w.Summary("The value as QMP shows it.");
        w.Open($"public {TypeMapper.Objects}QDict ToQObject()");
        w.Line($"var d = new {TypeMapper.Objects}QDict();");
        w.Line("WriteMembers(d);");
        w.Line("return d;");
        w.Close();
        w.Line();
    }

    private static void VisitMembersBody(CodeWriter w, string cls, List<QapiMember> members)
    {
        foreach (var m in members)
        {
            var lit = CodeWriter.Literal(m.Name);
            var assign = $"target.{NameMangler.Property(cls, m.Name)} = {TypeMapper.Visit(m.Type, "v", lit)};";
            if (m.Optional)
            {
                w.Open($"if (v.OptionalPresent({lit}))");
                w.Line(assign);
                w.Close();
            }
            else
            {
                w.Line(assign);
            }
        }
    }

    /// <summary>Writes members; used for structs, union bases and event data.</summary>
    public static void WriteMembersBody(CodeWriter w, string? cls, List<QapiMember> members, int counter, string dict = "d", System.Func<QapiMember, string>? source = null)
    {
        foreach (var m in members)
        {
            var lit = CodeWriter.Literal(m.Name);
            var value = source != null ? source(m) : NameMangler.Property(cls!, m.Name);
            if (m.Optional)
            {
                var local = "m" + counter++;
                w.Open($"if ({value} is {{ }} {local})");
                w.Line($"{dict}.Put({lit}, {TypeMapper.ToQObject(m.Type, local)});");
                w.Close();
                w.Line();
            }
            else
            {
                w.Line($"{dict}.Put({lit}, {TypeMapper.ToQObject(m.Type, value)});");
            }
        }
    }
}
