namespace Netdevd.UserNet.Tests;

/// <summary>Small helpers for golden-byte tests.</summary>
internal static class Bytes
{
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));

    /// <summary>A buffer of 0xA5: a field the emitter forgets to write shows up as A5 in the diff.</summary>
    public static byte[] Filled(int length)
    {
        var b = new byte[length];
        Array.Fill(b, (byte)0xA5);
        return b;
    }

    public static string ToHex(ReadOnlySpan<byte> b) => Convert.ToHexString(b).ToLowerInvariant();
}
