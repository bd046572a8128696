using Netdevd.Qapi.Visitors;

namespace Netdevd.Qapi.Tests.Visitors;

/// <summary>A hand-written stand-in for generated visit code, shared by the visitor tests.</summary>
internal static class SampleType
{
    public static readonly string[] AddressTypes = ["inet", "unix", "vsock", "fd"];

    /// <summary>
    /// Visits <c>{id: str, *port: uint16, *addr: {type: enum, host: str, port: str}, *hostfwd: [String], *flag: bool}</c>
    /// the way generated code does.
    /// </summary>
    public static string Visit(IQapiInputVisitor v)
    {
        var parts = new List<string>();
        v.StartStruct(null);
        parts.Add("id=" + v.TypeStr("id"));
        if (v.OptionalPresent("port"))
        {
            parts.Add("port=" + QapiVisit.UInt16(v, "port"));
        }

        if (v.OptionalPresent("addr"))
        {
            v.StartStruct("addr");
            var type = AddressTypes[QapiVisit.Enum(v, "type", AddressTypes)];
            parts.Add($"addr={type}:{v.TypeStr("host")}:{v.TypeStr("port")}");
            v.CheckStruct();
            v.EndStruct();
        }

        if (v.OptionalPresent("hostfwd") && v.StartList("hostfwd"))
        {
            while (v.NextListElement())
            {
                v.StartStruct(null);
                parts.Add("fwd=" + v.TypeStr("str"));
                v.CheckStruct();
                v.EndStruct();
            }

            v.EndList();
        }

        if (v.OptionalPresent("flag"))
        {
            parts.Add("flag=" + v.TypeBool("flag"));
        }

        v.CheckStruct();
        v.EndStruct();
        return string.Join(' ', parts);
    }
}
