using System.Collections.Generic;
using Netdevd.Qapi.Generator.Emit;
using Netdevd.Qapi.Generator.Parsing;

namespace Netdevd.Qapi.Generator.Model;

/// <summary>
/// Checks the expressions and builds the <see cref="SchemaModel"/>: applies 'if'
/// conditions (false means the item does not exist), resolves type names and reports
/// schema errors with file and line. Errors are collected so that one build shows them all.
/// </summary>
internal sealed class SchemaBuilder
{
    private static readonly string[] MetaKeys = { "enum", "struct", "union", "alternate", "command", "event" };

    private readonly ConditionEvaluator _conditions;
    private readonly List<SchemaException> _errors;
    private readonly SchemaModel _model = new();

    // Names defined under a false condition: referring to them is an error of its own kind.
    private readonly HashSet<string> _excludedTypes = new();
    private readonly Dictionary<string, HashSet<string>> _excludedEnumValues = new();
    private readonly List<(TypeRef Ref, string File)> _refs = new();
    private readonly Dictionary<string, QapiEntity> _definitions = new();

    public SchemaBuilder(ConditionEvaluator conditions, List<SchemaException> errors)
    {
        _conditions = conditions;
        _errors = errors;
        Builtins.AddTo(_model.Types);
    }

    public SchemaModel Build(List<List<ParsedExpression>> modules)
    {
        foreach (var module in modules)
        {
            foreach (var e in module)
            {
                try
                {
                    Define(e);
                }
                catch (SchemaException ex)
                {
                    _errors.Add(ex);
                }
            }
        }

        Resolve();
        return _model;
    }

    private void Define(ParsedExpression e)
    {
        var d = e.Expr;
        if (d.Get("pragma") != null)
        {
            return; // pragmas only relax QEMU's naming rules
        }

        string? meta = null;
        foreach (var k in MetaKeys)
        {
            if (d.Get(k) != null)
            {
                if (meta != null)
                {
                    throw new SchemaException(e.File, d.Line, $"expression has both '{meta}' and '{k}'", DiagnosticIds.Invalid);
                }

                meta = k;
            }
        }

        if (meta == null)
        {
            throw new SchemaException(e.File, d.Line, "expression is missing metatype (one of 'enum', 'struct', 'union', 'alternate', 'command', 'event', 'include', 'pragma')", DiagnosticIds.Invalid);
        }

        var name = Str(d, meta, e.File);
        if (!_conditions.IsTrue(d.Get("if"), e.File))
        {
            _excludedTypes.Add(name);
            return;
        }

        if (_definitions.ContainsKey(name) || _model.Types.ContainsKey(name))
        {
            throw new SchemaException(e.File, d.Line, $"'{name}' is already defined", DiagnosticIds.Duplicate);
        }

        var features = Features(d.Get("features"), e.File);
        QapiEntity entity = meta switch
        {
            "enum" => DefineEnum(e, name, features),
            "struct" => DefineStruct(e, name, features),
            "union" => DefineUnion(e, name, features),
            "alternate" => DefineAlternate(e, name, features),
            "command" => DefineCommand(e, name, features),
            _ => DefineEvent(e, name, features),
        };
        _definitions[name] = entity;
        if (entity is QapiType t)
        {
            _model.Types[name] = t;
        }
        else
        {
            _model.Entities.Add(entity);
        }
    }

    private QapiEnum DefineEnum(ParsedExpression e, string name, List<string> features)
    {
        var values = new List<QapiEnumValue>();
        var excluded = new HashSet<string>();
        if (e.Expr.Get("data") is not SchemaList list)
        {
            throw new SchemaException(e.File, e.Expr.Line, $"enum '{name}' needs a 'data' list", DiagnosticIds.Invalid);
        }

        foreach (var item in list.Items)
        {
            string vname;
            var vfeatures = new List<string>();
            if (item is SchemaString s)
            {
                vname = s.Value;
            }
            else if (item is SchemaDict vd)
            {
                vname = Str(vd, "name", e.File);
                if (!_conditions.IsTrue(vd.Get("if"), e.File))
                {
                    excluded.Add(vname);
                    continue;
                }

                vfeatures = Features(vd.Get("features"), e.File);
            }
            else
            {
                throw new SchemaException(e.File, item.Line, $"enum '{name}': values must be strings or dicts", DiagnosticIds.Invalid);
            }

            values.Add(new QapiEnumValue(vname, vfeatures, MemberDoc(e.Doc, vname)));
        }

        _excludedEnumValues[name] = excluded;
        return new QapiEnum(name, e.File, e.Expr.Line, e.Doc, features, values);
    }

    private QapiStruct DefineStruct(ParsedExpression e, string name, List<string> features)
    {
        var baseRef = e.Expr.Get("base") is { } b ? Ref(b, e.File, allowArray: false) : null;
        var members = e.Expr.Get("data") is SchemaDict data ? Members(data, e.File, e.Doc) : new List<QapiMember>();
        if (baseRef != null)
        {
            _model.BaseNames.Add(baseRef.Name);
        }

        return new QapiStruct(name, e.File, e.Expr.Line, e.Doc, features, baseRef, members);
    }

    private QapiUnion DefineUnion(ParsedExpression e, string name, List<string> features)
    {
        var d = e.Expr;
        TypeRef? baseRef = null;
        var baseMembers = new List<QapiMember>();
        switch (d.Get("base"))
        {
            case SchemaDict bd:
                baseMembers = Members(bd, e.File, e.Doc);
                break;
            case SchemaString bs:
                baseRef = Ref(bs, e.File, allowArray: false);
                _model.BaseNames.Add(bs.Value);
                break;
            default:
                throw new SchemaException(e.File, d.Line, $"union '{name}' needs a 'base' (dict or struct name); netdevd supports flat unions only", DiagnosticIds.Unsupported);
        }

        var discriminator = Str(d, "discriminator", e.File);
        var branches = new List<QapiBranch>();
        if (d.Get("data") is not SchemaDict data)
        {
            throw new SchemaException(e.File, d.Line, $"union '{name}' needs a 'data' dict", DiagnosticIds.Invalid);
        }

        foreach (var m in data.Members)
        {
            if (Branch(m.Value, e.File) is { } r)
            {
                branches.Add(new QapiBranch(m.Key, r));
            }
        }

        return new QapiUnion(name, e.File, d.Line, e.Doc, features, baseRef, baseMembers, discriminator, branches);
    }

    private QapiAlternate DefineAlternate(ParsedExpression e, string name, List<string> features)
    {
        if (e.Expr.Get("data") is not SchemaDict data)
        {
            throw new SchemaException(e.File, e.Expr.Line, $"alternate '{name}' needs a 'data' dict", DiagnosticIds.Invalid);
        }

        var branches = new List<QapiBranch>();
        foreach (var m in data.Members)
        {
            if (Branch(m.Value, e.File) is { } r)
            {
                branches.Add(new QapiBranch(m.Key, r));
            }
        }

        return new QapiAlternate(name, e.File, e.Expr.Line, e.Doc, features, branches);
    }

    private QapiCommandDef DefineCommand(ParsedExpression e, string name, List<string> features)
    {
        var d = e.Expr;
        var cmd = new QapiCommandDef(name, e.File, d.Line, e.Doc, features)
        {
            Boxed = Bool(d, "boxed", e.File, false),
            Gen = Bool(d, "gen", e.File, true),
            AllowPreconfig = Bool(d, "allow-preconfig", e.File, false),
            AllowOob = Bool(d, "allow-oob", e.File, false),
        };
        cmd.Data = Data(d, "q_obj_" + name + "-arg", NameMangler.Pascal(name) + "Arguments", e, cmd.Boxed);
        if (d.Get("returns") is { } ret)
        {
            cmd.Returns = Ref(ret, e.File, allowArray: true);
        }

        return cmd;
    }

    private QapiEventDef DefineEvent(ParsedExpression e, string name, List<string> features)
    {
        var ev = new QapiEventDef(name, e.File, e.Expr.Line, e.Doc, features)
        {
            Boxed = Bool(e.Expr, "boxed", e.File, false),
        };
        ev.Data = Data(e.Expr, "q_obj_" + name + "-arg", null, e, ev.Boxed);
        return ev;
    }

    /// <summary>A command's or event's 'data': a dict becomes an implicit struct, a name refers to a type.</summary>
    private TypeRef? Data(SchemaDict d, string implicitName, string? csharpName, ParsedExpression e, bool boxed)
    {
        switch (d.Get("data"))
        {
            case null:
                if (boxed)
                {
                    throw new SchemaException(e.File, d.Line, "'boxed': true needs 'data' naming a type", DiagnosticIds.Invalid);
                }

                return null;
            case SchemaDict data:
                if (boxed)
                {
                    throw new SchemaException(e.File, data.Line, "'boxed': true needs 'data' naming a type, not a dict", DiagnosticIds.Invalid);
                }

                var s = new QapiStruct(implicitName, e.File, data.Line, e.Doc, new List<string>(), null, Members(data, e.File, e.Doc), isImplicit: true)
                {
                    CSharpNameOverride = csharpName,
                };
                _model.Types[implicitName] = s;
                return new TypeRef(implicitName, false, data.Line) { Type = s };
            case SchemaString name:
                return Ref(name, e.File, allowArray: false);
            case var other:
                throw new SchemaException(e.File, other.Line, "'data' must be a dict or a type name", DiagnosticIds.Invalid);
        }
    }

    private List<QapiMember> Members(SchemaDict data, string file, DocComment? doc)
    {
        var members = new List<QapiMember>();
        foreach (var m in data.Members)
        {
            var key = m.Key;
            var optional = key.StartsWith("*", System.StringComparison.Ordinal);
            var name = optional ? key.Substring(1) : key;
            TypeRef type;
            var features = new List<string>();
            if (m.Value is SchemaDict longForm)
            {
                if (!_conditions.IsTrue(longForm.Get("if"), file))
                {
                    continue;
                }

                type = Ref(longForm.Get("type") ?? throw new SchemaException(file, longForm.Line, $"member '{name}' lacks 'type'", DiagnosticIds.Invalid), file, allowArray: true);
                features = Features(longForm.Get("features"), file);
            }
            else
            {
                type = Ref(m.Value, file, allowArray: true);
            }

            members.Add(new QapiMember(name, type, optional, features, MemberDoc(doc, name)));
        }

        return members;
    }

    /// <summary>A union or alternate branch in short ('T') or long ({'type': 'T', 'if': ...}) form; null when its condition is false.</summary>
    private TypeRef? Branch(SchemaValue v, string file)
    {
        if (v is SchemaDict longForm)
        {
            if (!_conditions.IsTrue(longForm.Get("if"), file))
            {
                return null;
            }

            return Ref(longForm.Get("type") ?? throw new SchemaException(file, longForm.Line, "branch lacks 'type'", DiagnosticIds.Invalid), file, allowArray: false);
        }

        return Ref(v, file, allowArray: false);
    }

    private TypeRef Ref(SchemaValue v, string file, bool allowArray)
    {
        TypeRef r;
        if (v is SchemaString s)
        {
            r = new TypeRef(s.Value, false, s.Line);
        }
        else if (allowArray && v is SchemaList l && l.Items.Count == 1 && l.Items[0] is SchemaString e)
        {
            r = new TypeRef(e.Value, true, l.Line);
        }
        else
        {
            throw new SchemaException(file, v.Line, allowArray ? "type must be a name or a one-element list of a name" : "type must be a name", DiagnosticIds.Invalid);
        }

        _refs.Add((r, file));
        return r;
    }

    private List<string> Features(SchemaValue? v, string file)
    {
        var list = new List<string>();
        if (v is null)
        {
            return list;
        }

        if (v is not SchemaList l)
        {
            throw new SchemaException(file, v.Line, "'features' must be a list", DiagnosticIds.Invalid);
        }

        foreach (var f in l.Items)
        {
            if (f is SchemaString s)
            {
                list.Add(s.Value);
            }
            else if (f is SchemaDict d)
            {
                var n = Str(d, "name", file);
                if (_conditions.IsTrue(d.Get("if"), file))
                {
                    list.Add(n);
                }
            }
            else
            {
                throw new SchemaException(file, f.Line, "a feature must be a string or a dict", DiagnosticIds.Invalid);
            }
        }

        return list;
    }

    private void Resolve()
    {
        var before = _errors.Count;
        foreach (var (r, file) in _refs)
        {
            if (_model.Types.TryGetValue(r.Name, out var t))
            {
                r.Type = t;
            }
            else if (_excludedTypes.Contains(r.Name))
            {
                _errors.Add(new SchemaException(file, r.Line, $"type '{r.Name}' is used but does not exist in this build (its 'if' condition is false)", DiagnosticIds.UnknownType));
            }
            else
            {
                _errors.Add(new SchemaException(file, r.Line, $"unknown type '{r.Name}'", DiagnosticIds.UnknownType));
            }
        }

        if (_errors.Count > before)
        {
            return; // the checks below need every reference resolved
        }

        foreach (var t in _model.Types.Values)
        {
            try
            {
                Check(t);
            }
            catch (SchemaException ex)
            {
                _errors.Add(ex);
            }
        }

        foreach (var e in _model.Entities)
        {
            try
            {
                Check(e);
            }
            catch (SchemaException ex)
            {
                _errors.Add(ex);
            }
        }
    }

    private void Check(QapiEntity entity)
    {
        switch (entity)
        {
            case QapiStruct s when s.BaseRef != null && s.BaseRef.Type is not QapiStruct:
                throw new SchemaException(s.File, s.BaseRef.Line, $"'base' of '{s.Name}' must be a struct", DiagnosticIds.Invalid);
            case QapiStruct s:
                CheckNoCycle(s);
                break;
            case QapiUnion u:
                CheckUnion(u);
                break;
            case QapiAlternate a:
                throw new SchemaException(a.File, a.Line, $"alternate '{a.Name}': alternates are not supported by netdevd's generator yet", DiagnosticIds.Unsupported);
            case QapiCommandDef c when c.Data != null && c.Data.Type is not QapiStruct && !(c.Boxed && c.Data.Type is QapiUnion):
                throw new SchemaException(c.File, c.Data.Line, $"'data' of '{c.Name}' must be a struct{(c.Boxed ? " or union" : "")}", DiagnosticIds.Invalid);
            case QapiEventDef ev when ev.Data != null && ev.Data.Type is not QapiStruct && !(ev.Boxed && ev.Data.Type is QapiUnion):
                throw new SchemaException(ev.File, ev.Data.Line, $"'data' of '{ev.Name}' must be a struct{(ev.Boxed ? " or union" : "")}", DiagnosticIds.Invalid);
        }
    }

    private static void CheckNoCycle(QapiStruct s)
    {
        var seen = new HashSet<QapiStruct>();
        for (var cur = s; cur != null; cur = cur.Base)
        {
            if (!seen.Add(cur))
            {
                throw new SchemaException(s.File, s.Line, $"struct '{s.Name}' is its own base", DiagnosticIds.Invalid);
            }
        }
    }

    private void CheckUnion(QapiUnion u)
    {
        if (u.BaseRef != null && u.BaseRef.Type is not QapiStruct)
        {
            throw new SchemaException(u.File, u.BaseRef.Line, $"'base' of '{u.Name}' must be a struct", DiagnosticIds.Invalid);
        }

        QapiMember? tag = null;
        foreach (var m in u.BaseMembers())
        {
            if (m.Name == u.Discriminator)
            {
                tag = m;
            }
        }

        if (tag is null || tag.Optional || tag.Type.IsArray || tag.Type.Type is not QapiEnum en)
        {
            throw new SchemaException(u.File, u.Line, $"discriminator '{u.Discriminator}' of '{u.Name}' must be a mandatory enum member of the base", DiagnosticIds.Invalid);
        }

        var values = new HashSet<string>();
        foreach (var v in en.Values)
        {
            values.Add(v.Name);
        }

        _excludedEnumValues.TryGetValue(en.Name, out var excluded);
        for (var i = u.Branches.Count - 1; i >= 0; i--)
        {
            var b = u.Branches[i];
            if (values.Contains(b.Value))
            {
                if (b.Type.Type is not QapiStruct and not QapiUnion)
                {
                    throw new SchemaException(u.File, b.Type.Line, $"branch '{b.Value}' of '{u.Name}' must be a struct or union", DiagnosticIds.Invalid);
                }
            }
            else if (excluded != null && excluded.Contains(b.Value))
            {
                u.Branches.RemoveAt(i); // the enum value does not exist in this build, so neither does the branch
            }
            else
            {
                throw new SchemaException(u.File, b.Type.Line, $"branch '{b.Value}' of '{u.Name}' is not a value of '{en.Name}'", DiagnosticIds.Invalid);
            }
        }
    }

    private static string Str(SchemaDict d, string key, string file) =>
        d.Get(key) switch
        {
            SchemaString s => s.Value,
            null => throw new SchemaException(file, d.Line, $"missing '{key}'", DiagnosticIds.Invalid),
            var v => throw new SchemaException(file, v.Line, $"'{key}' must be a string", DiagnosticIds.Invalid),
        };

    private static bool Bool(SchemaDict d, string key, string file, bool dflt) =>
        d.Get(key) switch
        {
            SchemaBool b => b.Value,
            null => dflt,
            var v => throw new SchemaException(file, v.Line, $"'{key}' must be true or false", DiagnosticIds.Invalid),
        };

    private static string? MemberDoc(DocComment? doc, string member) =>
        doc != null && doc.Members.TryGetValue(member, out var text) && text.Length > 0 ? text : null;
}
