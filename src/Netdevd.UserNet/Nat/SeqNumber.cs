namespace Netdevd.UserNet.Nat;

/// <summary>
/// TCP sequence-space comparisons (RFC 793 arithmetic modulo 2^32): a difference read as a signed
/// 32-bit value orders two numbers as long as they are less than 2^31 apart, which a window always is.
/// </summary>
internal static class SeqNumber
{
    public static int Diff(uint a, uint b) => (int)(a - b);

    public static bool Lt(uint a, uint b) => (int)(a - b) < 0;

    public static bool Le(uint a, uint b) => (int)(a - b) <= 0;

    public static bool Gt(uint a, uint b) => (int)(a - b) > 0;

    public static bool Ge(uint a, uint b) => (int)(a - b) >= 0;
}
