using System.Collections.Generic;
using Netdevd.Qapi.Generator.Model;

namespace Netdevd.Qapi.Generator.Emit;

/// <summary>QapiEvents: one factory per event building its data dict (QEMU's qapi_event_send_*).</summary>
internal static class EventEmitter
{
    private const string Event = "global::Netdevd.Qapi.Events.QapiEvent";

    public static string Emit(List<QapiEventDef> events)
    {
        var w = new CodeWriter();
        w.Summary("Factories for the events of the schema; the monitor adds the timestamp when it sends them.");
        w.Open("public static class QapiEvents");
        var first = true;
        foreach (var e in events)
        {
            if (!first)
            {
                w.Line();
            }

            first = false;
            EmitEvent(w, e);
        }

        w.Close();
        return w.ToString();
    }

    private static void EmitEvent(CodeWriter w, QapiEventDef e)
    {
        var method = NameMangler.Pascal(e.Name);
        var lit = CodeWriter.Literal(e.Name);
        w.Summary(e.Doc?.Body ?? $"Event '{e.Name}'.");
        if (e.Data is null)
        {
            w.Line($"public static {Event} {method}() => new({lit}, null);");
            return;
        }

        if (e.Boxed)
        {
            w.Line($"public static {Event} {method}({TypeMapper.Element(e.Data.Type)} data) => new({lit}, data.ToQObject());");
            return;
        }

        var members = ((QapiStruct)e.Data.Type).AllMembers();
        var parameters = new List<string>();
        foreach (var m in members)
        {
            if (!m.Optional)
            {
                w.Line($"/// <param name=\"{NameMangler.Camel(m.Name).TrimStart('@')}\">{CodeWriter.Escape(m.Doc ?? m.Name)}</param>");
                parameters.Add($"{TypeMapper.CSharpType(m.Type)} {NameMangler.Camel(m.Name)}");
            }
        }

        foreach (var m in members)
        {
            if (m.Optional)
            {
                w.Line($"/// <param name=\"{NameMangler.Camel(m.Name).TrimStart('@')}\">{CodeWriter.Escape(m.Doc ?? m.Name)} (optional)</param>");
                parameters.Add($"{TypeMapper.Optional(m.Type)} {NameMangler.Camel(m.Name)} = null");
            }
        }

        w.Open($"public static {Event} {method}({string.Join(", ", parameters)})");
        w.Line($"var eventData = new {TypeMapper.Objects}QDict();");
        ObjectEmitter.WriteMembersBody(w, null, members, 0, "eventData", m => NameMangler.Camel(m.Name));
        w.Line($"return new({lit}, eventData);");
        w.Close();
    }
}
