using System.Collections.Generic;

namespace Netdevd.Qapi.Generator.Parsing;

/// <summary>
/// A value of the Python-literal-like QAPI language (string, bool, list or dict), kept with
/// its line so that later checks can report errors where the schema author has to look.
/// </summary>
internal abstract class SchemaValue
{
    protected SchemaValue(int line) => Line = line;

    /// <summary>1-based line of the value's first character.</summary>
    public int Line { get; }
}

internal sealed class SchemaString : SchemaValue
{
    public SchemaString(string value, int line)
        : base(line) => Value = value;

    public string Value { get; }
}

internal sealed class SchemaBool : SchemaValue
{
    public SchemaBool(bool value, int line)
        : base(line) => Value = value;

    public bool Value { get; }
}

internal sealed class SchemaList : SchemaValue
{
    public SchemaList(List<SchemaValue> items, int line)
        : base(line) => Items = items;

    public List<SchemaValue> Items { get; }
}

/// <summary>A dict; member order matters in QAPI (it is the order of struct members and enum values).</summary>
internal sealed class SchemaDict : SchemaValue
{
    public SchemaDict(List<KeyValuePair<string, SchemaValue>> members, int line)
        : base(line) => Members = members;

    public List<KeyValuePair<string, SchemaValue>> Members { get; }

    public SchemaValue? Get(string key)
    {
        foreach (var m in Members)
        {
            if (m.Key == key)
            {
                return m.Value;
            }
        }

        return null;
    }
}
