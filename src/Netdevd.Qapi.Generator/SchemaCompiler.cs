using System.Collections.Generic;
using System.Linq;
using Netdevd.Qapi.Generator.Emit;
using Netdevd.Qapi.Generator.Model;
using Netdevd.Qapi.Generator.Parsing;

namespace Netdevd.Qapi.Generator;

/// <summary>One generated file.</summary>
internal sealed record GeneratedSource(string HintName, string Text);

/// <summary>
/// Schema files in, C# files out: load (includes), build the model (conditions, names), emit.
/// Nothing is emitted when the schema has errors, so the build shows the schema errors
/// rather than a cascade of C# errors they cause.
/// </summary>
internal static class SchemaCompiler
{
    public static List<GeneratedSource> Compile(IEnumerable<SchemaFile> files, string defines, out List<SchemaException> errors)
    {
        errors = new List<SchemaException>();
        var modules = new SchemaLoader(files.Select(f => new KeyValuePair<string, string>(f.Path, f.Text)), errors).Load();
        var model = new SchemaBuilder(ConditionEvaluator.FromProperty(defines), errors).Build(modules);
        var output = new List<GeneratedSource>();
        if (errors.Count > 0)
        {
            return output;
        }

        foreach (var t in model.Types.Values)
        {
            var hint = NameMangler.TypeName(t) + ".g.cs";
            switch (t)
            {
                case QapiEnum e:
                    output.Add(new GeneratedSource(hint, EnumEmitter.Emit(e)));
                    break;
                case QapiStruct { IsImplicit: true, CSharpNameOverride: null }:
                    break; // event data: the event factory's parameters stand for it
                case QapiStruct s:
                    output.Add(new GeneratedSource(hint, ObjectEmitter.EmitStruct(s, model)));
                    break;
                case QapiUnion u:
                    output.Add(new GeneratedSource(hint, ObjectEmitter.EmitUnion(u)));
                    break;
            }
        }

        output.Add(new GeneratedSource("QapiGeneratedHelpers.g.cs", HelpersEmitter.Emit()));
        output.Add(new GeneratedSource("QapiCommands.g.cs", CommandEmitter.Emit(model.Entities.OfType<QapiCommandDef>().ToList())));
        output.Add(new GeneratedSource("QapiEvents.g.cs", EventEmitter.Emit(model.Entities.OfType<QapiEventDef>().ToList())));
        output.Add(new GeneratedSource("QapiIntrospection.g.cs", IntrospectionEmitter.Emit(model)));
        return output;
    }
}
