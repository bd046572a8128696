using System.Collections.Generic;
using Netdevd.Qapi.Generator.Parsing;

namespace Netdevd.Qapi.Generator.Model;

/// <summary>
/// The schema after conditions were applied and names resolved: only what exists in this
/// build. Emitters read this and nothing else.
/// </summary>
internal sealed class SchemaModel
{
    /// <summary>Every definition in QEMU's visiting order: by module (root file first, then
    /// included files in the order they were first included), then in file order.</summary>
    public List<QapiEntity> Entities { get; } = new();

    public Dictionary<string, QapiType> Types { get; } = new();

    /// <summary>Struct names some other struct or union names as its 'base'.</summary>
    public HashSet<string> BaseNames { get; } = new();
}

internal abstract class QapiEntity
{
    protected QapiEntity(string name, string file, int line, DocComment? doc, List<string> features)
    {
        Name = name;
        File = file;
        Line = line;
        Doc = doc;
        Features = features;
    }

    /// <summary>The QAPI name as written in the schema.</summary>
    public string Name { get; }

    public string File { get; }

    public int Line { get; }

    public DocComment? Doc { get; }

    public List<string> Features { get; }
}

/// <summary>A named type (enum, struct, union, alternate) or one of QAPI's builtins.</summary>
internal abstract class QapiType : QapiEntity
{
    protected QapiType(string name, string file, int line, DocComment? doc, List<string> features)
        : base(name, file, line, doc, features)
    {
    }
}

/// <summary>A reference to a type in the schema: a name, or a one-element list meaning "array of".</summary>
internal sealed class TypeRef
{
    public TypeRef(string name, bool isArray, int line)
    {
        Name = name;
        IsArray = isArray;
        Line = line;
    }

    public string Name { get; }

    public bool IsArray { get; }

    public int Line { get; }

    /// <summary>Resolved after all definitions are read.</summary>
    public QapiType Type { get; set; } = null!;

    /// <summary>QAPI's spelling: 'T' or '[T]'.</summary>
    public override string ToString() => IsArray ? "[" + Name + "]" : Name;
}

internal sealed class QapiMember
{
    public QapiMember(string name, TypeRef type, bool optional, List<string> features, string? doc)
    {
        Name = name;
        Type = type;
        Optional = optional;
        Features = features;
        Doc = doc;
    }

    public string Name { get; }

    public TypeRef Type { get; }

    public bool Optional { get; }

    public List<string> Features { get; }

    public string? Doc { get; }
}

internal sealed class QapiBuiltin : QapiType
{
    public QapiBuiltin(string name, string jsonType)
        : base(name, "", 0, null, new List<string>()) => JsonType = jsonType;

    /// <summary>What introspection reports as 'json-type'.</summary>
    public string JsonType { get; }
}

internal sealed class QapiEnumValue
{
    public QapiEnumValue(string name, List<string> features, string? doc)
    {
        Name = name;
        Features = features;
        Doc = doc;
    }

    public string Name { get; }

    public List<string> Features { get; }

    public string? Doc { get; }
}

internal sealed class QapiEnum : QapiType
{
    public QapiEnum(string name, string file, int line, DocComment? doc, List<string> features, List<QapiEnumValue> values)
        : base(name, file, line, doc, features) => Values = values;

    public List<QapiEnumValue> Values { get; }
}

/// <summary>A struct, or the implicit struct of a command's or event's 'data' dict.</summary>
internal sealed class QapiStruct : QapiType
{
    public QapiStruct(string name, string file, int line, DocComment? doc, List<string> features, TypeRef? baseRef, List<QapiMember> members, bool isImplicit = false)
        : base(name, file, line, doc, features)
    {
        BaseRef = baseRef;
        Members = members;
        IsImplicit = isImplicit;
    }

    public TypeRef? BaseRef { get; }

    /// <summary>Own members, without the base's.</summary>
    public List<QapiMember> Members { get; }

    /// <summary>Implicit types (command arguments, events) get no introspection name of their own.</summary>
    public bool IsImplicit { get; }

    /// <summary>The C# class name; command argument structs get '{Command}Arguments'.</summary>
    public string? CSharpNameOverride { get; set; }

    public QapiStruct? Base => BaseRef?.Type as QapiStruct;

    /// <summary>Base members first, then own members (QEMU's flat member list).</summary>
    public List<QapiMember> AllMembers()
    {
        var all = Base?.AllMembers() ?? new List<QapiMember>();
        all.AddRange(Members);
        return all;
    }
}

internal sealed class QapiBranch
{
    public QapiBranch(string value, TypeRef type)
    {
        Value = value;
        Type = type;
    }

    /// <summary>The discriminator value selecting this branch.</summary>
    public string Value { get; }

    public TypeRef Type { get; }
}

/// <summary>A flat union: base members, one of which (an enum) selects a branch struct whose members sit beside them.</summary>
internal sealed class QapiUnion : QapiType
{
    public QapiUnion(string name, string file, int line, DocComment? doc, List<string> features, TypeRef? baseRef, List<QapiMember> baseMembers, string discriminator, List<QapiBranch> branches)
        : base(name, file, line, doc, features)
    {
        BaseRef = baseRef;
        InlineBaseMembers = baseMembers;
        Discriminator = discriminator;
        Branches = branches;
    }

    /// <summary>A named base struct, or null when the base is an inline dict.</summary>
    public TypeRef? BaseRef { get; }

    public List<QapiMember> InlineBaseMembers { get; }

    public string Discriminator { get; }

    public List<QapiBranch> Branches { get; }

    public QapiStruct? Base => BaseRef?.Type as QapiStruct;

    public List<QapiMember> BaseMembers() => Base?.AllMembers() ?? InlineBaseMembers;

    public QapiMember DiscriminatorMember()
    {
        foreach (var m in BaseMembers())
        {
            if (m.Name == Discriminator)
            {
                return m;
            }
        }

        throw new System.InvalidOperationException("checked by SchemaBuilder");
    }
}

internal sealed class QapiAlternate : QapiType
{
    public QapiAlternate(string name, string file, int line, DocComment? doc, List<string> features, List<QapiBranch> branches)
        : base(name, file, line, doc, features) => Branches = branches;

    public List<QapiBranch> Branches { get; }
}

internal sealed class QapiCommandDef : QapiEntity
{
    public QapiCommandDef(string name, string file, int line, DocComment? doc, List<string> features)
        : base(name, file, line, doc, features)
    {
    }

    /// <summary>The argument type (implicit struct for a dict), or null without 'data'.</summary>
    public TypeRef? Data { get; set; }

    public bool Boxed { get; set; }

    public TypeRef? Returns { get; set; }

    public bool Gen { get; set; } = true;

    public bool AllowPreconfig { get; set; }

    public bool AllowOob { get; set; }
}

internal sealed class QapiEventDef : QapiEntity
{
    public QapiEventDef(string name, string file, int line, DocComment? doc, List<string> features)
        : base(name, file, line, doc, features)
    {
    }

    public TypeRef? Data { get; set; }

    public bool Boxed { get; set; }
}
