using System.Collections.Generic;
using Netdevd.Qapi.Generator.Model;

namespace Netdevd.Qapi.Generator.Emit;

/// <summary>A JSON-like tree of what query-qmp-schema returns, built at generation time.</summary>
internal abstract class IntroNode
{
}

internal sealed class IntroString : IntroNode
{
    public IntroString(string value) => Value = value;

    public string Value { get; }
}

internal sealed class IntroBool : IntroNode
{
    public IntroBool(bool value) => Value = value;

    public bool Value { get; }
}

internal sealed class IntroNull : IntroNode
{
    public static readonly IntroNull Instance = new();
}

internal sealed class IntroList : IntroNode
{
    public List<IntroNode> Items { get; } = new();
}

internal sealed class IntroDict : IntroNode
{
    public List<KeyValuePair<string, IntroNode>> Members { get; } = new();

    public IntroDict Add(string key, IntroNode value)
    {
        Members.Add(new KeyValuePair<string, IntroNode>(key, value));
        return this;
    }

    public IntroDict Add(string key, string value) => Add(key, new IntroString(value));
}

/// <summary>
/// Builds QEMU's SchemaInfo list the way scripts/qapi/introspect.py does: every command and
/// event (module order), then each type they reach in order of first use; names of
/// non-builtin types are masked as numbers in that same order; all integer types collapse
/// to 'int'; a command without arguments or result uses the empty object type; optional
/// members carry 'default': null; union variants list every enum value (those without a
/// branch use the empty object).
/// </summary>
internal sealed class IntrospectionBuilder
{
    private readonly SchemaModel _model;
    private readonly List<(QapiType Type, bool Array)> _used = new();
    private readonly Dictionary<string, string> _masked = new();
    private readonly QapiStruct _empty = new("q_empty", "", 0, null, new List<string>(), null, new List<QapiMember>(), isImplicit: true);

    public IntrospectionBuilder(SchemaModel model) => _model = model;

    public List<IntroDict> Build()
    {
        var trees = new List<IntroDict>();
        foreach (var e in _model.Entities)
        {
            switch (e)
            {
                case QapiCommandDef c:
                    var cmd = Entry(c.Name, "command")
                        .Add("arg-type", c.Data is null ? Use(_empty, false) : Use(c.Data.Type, c.Data.IsArray))
                        .Add("ret-type", c.Returns is null ? Use(_empty, false) : Use(c.Returns.Type, c.Returns.IsArray));
                    if (c.AllowOob)
                    {
                        cmd.Add("allow-oob", new IntroBool(true));
                    }

                    trees.Add(WithFeatures(cmd, c.Features));
                    break;
                case QapiEventDef ev:
                    trees.Add(WithFeatures(Entry(ev.Name, "event").Add("arg-type", ev.Data is null ? Use(_empty, false) : Use(ev.Data.Type, false)), ev.Features));
                    break;
            }
        }

        // The list grows while it is walked: a type's members add the types they use.
        for (var i = 0; i < _used.Count; i++)
        {
            trees.Add(TypeTree(_used[i].Type, _used[i].Array));
        }

        return trees;
    }

    private static IntroDict Entry(string name, string metaType) => new IntroDict().Add("name", name).Add("meta-type", metaType);

    private static IntroDict WithFeatures(IntroDict d, List<string> features)
    {
        if (features.Count > 0)
        {
            var list = new IntroList();
            foreach (var f in features)
            {
                list.Items.Add(new IntroString(f));
            }

            d.Add("features", list);
        }

        return d;
    }

    private string Use(QapiType t, bool array)
    {
        if (t is QapiBuiltin { JsonType: "int" })
        {
            t = _model.Types["int"];
        }

        if (!_used.Contains((t, array)))
        {
            _used.Add((t, array));
        }

        if (array)
        {
            return "[" + Use(t, false) + "]";
        }

        return t is QapiBuiltin ? t.Name : Mask(t.Name);
    }

    private string Mask(string name)
    {
        if (!_masked.TryGetValue(name, out var m))
        {
            m = _masked.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            _masked[name] = m;
        }

        return m;
    }

    private IntroDict TypeTree(QapiType t, bool array)
    {
        if (array)
        {
            var element = Use(t, false);
            return Entry("[" + element + "]", "array").Add("element-type", element);
        }

        switch (t)
        {
            case QapiBuiltin b:
                return Entry(b.Name, "builtin").Add("json-type", b.JsonType);
            case QapiEnum e:
                var members = new IntroList();
                var values = new IntroList();
                foreach (var v in e.Values)
                {
                    members.Items.Add(WithFeatures(new IntroDict().Add("name", v.Name), v.Features));
                    values.Items.Add(new IntroString(v.Name));
                }

                return WithFeatures(Entry(Mask(e.Name), "enum").Add("members", members).Add("values", values), e.Features);
            case QapiStruct s:
                return WithFeatures(Entry(Mask(s.Name), "object").Add("members", Members(s.AllMembers())), s.Features);
            case QapiUnion u:
                var d = Entry(Mask(u.Name), "object").Add("members", Members(u.BaseMembers())).Add("tag", u.Discriminator);
                var variants = new IntroList();
                var covered = new HashSet<string>();
                foreach (var br in u.Branches)
                {
                    covered.Add(br.Value);
                    variants.Items.Add(new IntroDict().Add("case", br.Value).Add("type", Use(br.Type.Type, false)));
                }

                foreach (var v in ((QapiEnum)u.DiscriminatorMember().Type.Type).Values)
                {
                    if (!covered.Contains(v.Name))
                    {
                        variants.Items.Add(new IntroDict().Add("case", v.Name).Add("type", Use(_empty, false)));
                    }
                }

                return WithFeatures(d.Add("variants", variants), u.Features);
            default:
                var alt = new IntroList();
                foreach (var br in ((QapiAlternate)t).Branches)
                {
                    alt.Items.Add(new IntroDict().Add("type", Use(br.Type.Type, br.Type.IsArray)));
                }

                return WithFeatures(Entry(Mask(t.Name), "alternate").Add("members", alt), t.Features);
        }
    }

    private IntroList Members(List<QapiMember> members)
    {
        var list = new IntroList();
        foreach (var m in members)
        {
            var d = new IntroDict().Add("name", m.Name).Add("type", Use(m.Type.Type, m.Type.IsArray));
            if (m.Optional)
            {
                d.Add("default", IntroNull.Instance);
            }

            list.Items.Add(WithFeatures(d, m.Features));
        }

        return list;
    }
}
