using Netdevd.Qapi.Errors;

namespace Netdevd.Qapi.Visitors;

/// <summary>
/// The sized-integer and enum visits that QEMU builds on top of the visitor's int64/uint64
/// (qapi/qapi-visit-core.c). Their range errors name the member alone, not its full path,
/// exactly as QEMU's do (<c>Parameter 'hubid' expects int32_t</c>).
/// </summary>
public static class QapiVisit
{
    public static sbyte Int8(IQapiInputVisitor v, string? name) => (sbyte)SignedInRange(v, name, sbyte.MinValue, sbyte.MaxValue, "int8_t");

    public static short Int16(IQapiInputVisitor v, string? name) => (short)SignedInRange(v, name, short.MinValue, short.MaxValue, "int16_t");

    public static int Int32(IQapiInputVisitor v, string? name) => (int)SignedInRange(v, name, int.MinValue, int.MaxValue, "int32_t");

    public static byte UInt8(IQapiInputVisitor v, string? name) => (byte)UnsignedInRange(v, name, byte.MaxValue, "uint8_t");

    public static ushort UInt16(IQapiInputVisitor v, string? name) => (ushort)UnsignedInRange(v, name, ushort.MaxValue, "uint16_t");

    public static uint UInt32(IQapiInputVisitor v, string? name) => (uint)UnsignedInRange(v, name, uint.MaxValue, "uint32_t");

    /// <summary>
    /// An enum member: the string must be one of <paramref name="values"/> (the QAPI names,
    /// in schema order); returns its index.
    /// </summary>
    public static int Enum(IQapiInputVisitor v, string? name, IReadOnlyList<string> values)
    {
        var s = v.TypeStr(name);
        for (var i = 0; i < values.Count; i++)
        {
            if (string.Equals(values[i], s, StringComparison.Ordinal))
            {
                return i;
            }
        }

        // QEMU names the member alone here (input_type_enum), not its full path.
        throw QapiErrors.BadEnumValue(name ?? "null", s);
    }

    private static long SignedInRange(IQapiInputVisitor v, string? name, long min, long max, string typeName)
    {
        var value = v.TypeInt64(name);
        if (value < min || value > max)
        {
            throw QapiErrors.InvalidValue(name ?? "null", typeName);
        }

        return value;
    }

    private static ulong UnsignedInRange(IQapiInputVisitor v, string? name, ulong max, string typeName)
    {
        var value = v.TypeUInt64(name);
        if (value > max)
        {
            throw QapiErrors.InvalidValue(name ?? "null", typeName);
        }

        return value;
    }
}
