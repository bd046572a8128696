using System.Collections.Generic;
using System.Text;
using Netdevd.Qapi.Generator.Model;

namespace Netdevd.Qapi.Generator.Emit;

/// <summary>QAPI names to C# names, as docs/qapi-contract.md prescribes.</summary>
internal static class NameMangler
{
    private static readonly HashSet<string> Keywords = new()
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
        "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
        "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
        "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
        "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
        "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    };

    /// <summary>
    /// Splits on '-' and '_' and capitalises each part: 'vhost-user' is 'VhostUser',
    /// 'NetdevL2TPv3Options' stays, an all-capitals part such as 'NETDEV' in an event name
    /// becomes 'Netdev' so that 'NETDEV_STREAM_CONNECTED' reads 'NetdevStreamConnected'.
    /// </summary>
    public static string Pascal(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var part in name.Split('-', '_', '.', '+'))
        {
            if (part.Length == 0)
            {
                continue;
            }

            var allUpper = true;
            var hasLetter = false;
            foreach (var c in part)
            {
                if (char.IsLetter(c))
                {
                    hasLetter = true;
                    allUpper &= char.IsUpper(c);
                }
            }

            // Whole-capital words only when the name is all capitals (events); 'QMPCapability' keeps its acronym.
            var lowerRest = hasLetter && allUpper && part.Length > 1 && IsAllUpper(name);
            sb.Append(char.ToUpperInvariant(part[0]));
            sb.Append(lowerRest ? part.Substring(1).ToLowerInvariant() : part.Substring(1));
        }

        if (sb.Length == 0 || char.IsDigit(sb[0]))
        {
            sb.Insert(0, '_');
        }

        return sb.ToString();
    }

    /// <summary>A parameter or local name: camelCase, keywords escaped with '@'.</summary>
    public static string Camel(string name)
    {
        var p = Pascal(name);
        var c = p[0] == '_' ? p : char.ToLowerInvariant(p[0]) + p.Substring(1);
        return Keywords.Contains(c) ? "@" + c : c;
    }

    private static readonly HashSet<string> ReservedMembers = new()
    {
        "Visit", "VisitMembers", "ToQObject", "WriteMembers", "Equals", "GetHashCode", "ToString", "GetType", "MemberwiseClone",
    };

    /// <summary>A property name; one that would clash with the class or its generated methods gets 'Value' appended.</summary>
    public static string Property(string className, string qapiName)
    {
        var p = Pascal(qapiName);
        return p == className || ReservedMembers.Contains(p) ? p + "Value" : p;
    }

    /// <summary>The C# class of a schema type.</summary>
    public static string TypeName(QapiType t) => t is QapiStruct { CSharpNameOverride: { } o } ? o : Pascal(t.Name);

    /// <summary>The helper class of an enum: 'NetClientDriver' has 'NetClientDriverQapi'.</summary>
    public static string EnumHelper(QapiEnum e) => Pascal(e.Name) + "Qapi";

    private static bool IsAllUpper(string name)
    {
        foreach (var c in name)
        {
            if (char.IsLetter(c) && !char.IsUpper(c))
            {
                return false;
            }
        }

        return true;
    }
}
