using System.Collections.Generic;

namespace Netdevd.Qapi.Generator.Model;

/// <summary>QAPI's builtin types and the JSON type introspection reports for each.</summary>
internal static class Builtins
{
    public static readonly (string Name, string JsonType)[] All =
    {
        ("str", "string"),
        ("number", "number"),
        ("int", "int"),
        ("int8", "int"),
        ("int16", "int"),
        ("int32", "int"),
        ("int64", "int"),
        ("uint8", "int"),
        ("uint16", "int"),
        ("uint32", "int"),
        ("uint64", "int"),
        ("size", "int"),
        ("bool", "boolean"),
        ("null", "null"),
        ("any", "value"),
    };

    public static void AddTo(Dictionary<string, QapiType> types)
    {
        foreach (var (name, json) in All)
        {
            types[name] = new QapiBuiltin(name, json);
        }
    }
}
