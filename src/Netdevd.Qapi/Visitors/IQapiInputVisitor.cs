using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Visitors;

/// <summary>
/// The input side of QEMU's visitor pattern, which generated code calls to build a typed
/// value from untyped input. Implementations: <see cref="QObjectInputVisitor"/> (QMP JSON,
/// and keyval's all-string dicts) and <see cref="OptsInputVisitor"/> (legacy QemuOpts).
/// Every method throws <see cref="Errors.QapiException"/> with QEMU's text for bad input.
/// </summary>
/// <remarks>
/// Call protocol, as generated code uses it, for a struct member named "m" of struct S:
/// <code>
/// v.StartStruct(name);            // name is null for the root and list elements
///   if (v.OptionalPresent("m")) s.M = v.TypeInt64("m");   // optional member
///   s.N = v.TypeStr("n");                                 // mandatory member
///   v.CheckStruct();              // "Parameter 'x' is unexpected" for leftovers
/// v.EndStruct();
///
/// if (v.StartList(name)) { while (v.NextListElement()) items.Add(v.TypeStr(null)); v.EndList(); }
/// </code>
/// A flat union visits its base members, then maps the discriminator value to the
/// variant type and visits that type's members inside the same struct.
/// </remarks>
public interface IQapiInputVisitor
{
    /// <summary>Enters a struct (a dict). Throws when the value is missing or not a dict.</summary>
    void StartStruct(string? name);

    /// <summary>Fails with the first member that no visit consumed.</summary>
    void CheckStruct();

    void EndStruct();

    /// <summary>Enters a list. Returns false when the value is an empty list that needs no EndList (never: always pair with EndList when true).</summary>
    bool StartList(string? name);

    /// <summary>Advances to the next element; false at the end.</summary>
    bool NextListElement();

    void EndList();

    /// <summary>Whether an optional member is present.</summary>
    bool OptionalPresent(string name);

    long TypeInt64(string? name);

    ulong TypeUInt64(string? name);

    /// <summary>A 'size' member (keyval accepts suffixes such as 1k).</summary>
    ulong TypeSize(string? name);

    bool TypeBool(string? name);

    string TypeStr(string? name);

    double TypeNumber(string? name);

    /// <summary>A member of type 'any': the value as given.</summary>
    QObject TypeAny(string? name);

    /// <summary>A member of type 'null'.</summary>
    void TypeNull(string? name);

    /// <summary>The full path of a member, for error texts (e.g. "addr.port", "hostfwd[0].str").</summary>
    string FullName(string? name);
}
