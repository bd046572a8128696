namespace Netdevd.Cli;

/// <summary>What the command line asked for, after parsing and validation.</summary>
internal sealed record DaemonOptions(
    IReadOnlyList<string> NetdevSpecs,
    IReadOnlyList<string> QmpSpecs,
    string? RuntimeDirectory,
    int IoThreads = 0,
    long UserMemoryLimit = Netdevd.UserNet.Nat.NatLimits.DefaultMemoryLimit,
    int QmpMaxClients = Qmp.Server.QmpServerOptions.DefaultMaxClients,
    IReadOnlyList<string>? ChardevSpecs = null)
{
    /// <summary>No netdev and no monitor given: run the default setup.</summary>
    public bool IsDefaultJob => NetdevSpecs.Count == 0 && QmpSpecs.Count == 0 && (ChardevSpecs is null || ChardevSpecs.Count == 0);
}
