namespace Netdevd.Cli;

/// <summary>What the command line asked for, after parsing and validation.</summary>
internal sealed record DaemonOptions(
    IReadOnlyList<string> NetdevSpecs,
    IReadOnlyList<string> QmpSpecs,
    string? RuntimeDirectory,
    int? IoThreads = null,
    long UserMemoryLimit = Netdevd.UserNet.Nat.NatLimits.DefaultMemoryLimit,
    int QmpMaxClients = Qmp.Server.QmpServerOptions.DefaultMaxClients,
    IReadOnlyList<string>? ChardevSpecs = null)
{
    /// <summary>No netdev and no monitor given: run the default setup.</summary>
    public bool IsDefaultJob => NetdevSpecs.Count == 0 && QmpSpecs.Count == 0 && (ChardevSpecs is null || ChardevSpecs.Count == 0);

    /// <summary>
    /// The shared frame threads: as given, else one for the default job (a VM on a user network,
    /// as passt runs it: a host's answer reaches the VM without waking a second thread) and a
    /// thread per netdev otherwise.
    /// </summary>
    public int FrameThreads => IoThreads ?? (IsDefaultJob ? 1 : 0);
}
