using System.Collections.Generic;
using Netdevd.Qapi.Generator.Model;

namespace Netdevd.Qapi.Generator.Emit;

/// <summary>
/// IQapiCommandHandlers (one method per command) and QapiCommandTable, whose entries validate
/// the arguments with the QObject input visitor before they call the handler, exactly as
/// QEMU's generated qmp_marshal_* functions do.
/// </summary>
internal static class CommandEmitter
{
    private const string Commands = "global::Netdevd.Qapi.Commands.";
    private const string Context = Commands + "QapiCommandContext";
    private const string ValueTask = "global::System.Threading.Tasks.ValueTask";

    public static string Emit(List<QapiCommandDef> commands)
    {
        var w = new CodeWriter();
        EmitInterface(w, commands);
        w.Line();
        EmitTable(w, commands);
        return w.ToString();
    }

    private static string ReturnType(QapiCommandDef c)
    {
        if (c.Returns is null)
        {
            return ValueTask;
        }

        var t = c.Returns.IsArray
            ? "global::System.Collections.Generic.IReadOnlyList<" + TypeMapper.Element(c.Returns.Type) + ">"
            : TypeMapper.Element(c.Returns.Type);
        return ValueTask + "<" + t + ">";
    }

    private static void EmitInterface(CodeWriter w, List<QapiCommandDef> commands)
    {
        w.Summary("The implementation of every command of the schema; QapiCommandTable.Create dispatches to it.");
        w.Open("public interface IQapiCommandHandlers");
        var first = true;
        foreach (var c in commands)
        {
            if (!first)
            {
                w.Line();
            }

            first = false;
            w.Summary(c.Doc?.Body ?? $"QMP command '{c.Name}'.");
            var method = NameMangler.Pascal(c.Name) + "Async";
            if (!c.Gen)
            {
                w.Line($"{ValueTask}<{TypeMapper.Objects}QObject> {method}({TypeMapper.Objects}QDict arguments, {Context} context);");
            }
            else if (c.Data is null)
            {
                w.Line($"{ReturnType(c)} {method}({Context} context);");
            }
            else
            {
                w.Line($"{ReturnType(c)} {method}({TypeMapper.Element(c.Data.Type)} args, {Context} context);");
            }
        }

        w.Close();
    }

    private static void EmitTable(CodeWriter w, List<QapiCommandDef> commands)
    {
        w.Summary("The commands of the schema, by name, bound to their handlers.");
        w.Open("public static class QapiCommandTable");
        w.Open($"public static global::System.Collections.Generic.IReadOnlyDictionary<string, {Commands}QapiCommand> Create(IQapiCommandHandlers handlers)");
        w.Line("global::System.ArgumentNullException.ThrowIfNull(handlers);");
        w.Line($"var table = new global::System.Collections.Generic.Dictionary<string, {Commands}QapiCommand>(global::System.StringComparer.Ordinal);");
        foreach (var c in commands)
        {
            var lit = CodeWriter.Literal(c.Name);
            var flags = $"{Bool(c.AllowPreconfig)}, {Bool(c.AllowOob)}";
            var invoke = c.Gen
                ? $"(arguments, context) => Invoke{NameMangler.Pascal(c.Name)}Async(handlers, arguments, context)"
                : $"(arguments, context) => handlers.{NameMangler.Pascal(c.Name)}Async(arguments, context)";
            w.Line($"table.Add({lit}, new {Commands}QapiCommand({lit}, {flags}, {invoke}));");
        }

        w.Line("return table;");
        w.Close();
        foreach (var c in commands)
        {
            if (c.Gen)
            {
                w.Line();
                EmitInvoke(w, c);
            }
        }

        w.Close();
    }

    private static void EmitInvoke(CodeWriter w, QapiCommandDef c)
    {
        var pascal = NameMangler.Pascal(c.Name);
        w.Open($"private static async {ValueTask}<{TypeMapper.Objects}QObject> Invoke{pascal}Async(IQapiCommandHandlers handlers, {TypeMapper.Objects}QDict arguments, {Context} context)");
        w.Line($"var v = new {TypeMapper.Visitors}QObjectInputVisitor(arguments);");
        string call;
        if (c.Data is null)
        {
            // Even without arguments, QEMU rejects any member given ("Parameter 'x' is unexpected").
            w.Line("v.StartStruct(null);");
            w.Line("v.CheckStruct();");
            w.Line("v.EndStruct();");
            call = $"handlers.{pascal}Async(context)";
        }
        else
        {
            w.Line($"var args = {TypeMapper.Element(c.Data.Type)}.Visit(v, null);");
            call = $"handlers.{pascal}Async(args, context)";
        }

        if (c.Returns is null)
        {
            w.Line($"await {call}.ConfigureAwait(false);");
            w.Line($"return new {TypeMapper.Objects}QDict();");
        }
        else
        {
            w.Line($"var result = await {call}.ConfigureAwait(false);");
            w.Line($"return {TypeMapper.ToQObject(c.Returns, "result")};");
        }

        w.Close();
    }

    private static string Bool(bool b) => b ? "true" : "false";
}
