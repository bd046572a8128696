namespace Netdevd.Run;

/// <summary>What <c>netdevd run</c> was asked for.</summary>
internal sealed record RunOptions(
    IReadOnlyList<string> NetdevSpecs,
    string? NetnsPath,
    int? Pid,
    string IfName,
    int Mtu,
    IReadOnlyList<string> Command)
{
    /// <summary>The netdev id of the namespace's tap, which other netdevs name to join it.</summary>
    public const string TapId = "run0";

    /// <summary>Like pasta: large enough that one TSO super-frame fits a single tap write.</summary>
    public const int DefaultMtu = 65520;
}
