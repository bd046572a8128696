namespace Netdevd.Core.Clients;

/// <summary>
/// The switch between containing and surfacing faults: exceptions thrown while one frame (or one
/// I/O callback) of a client is handled. Contained (the default), such an exception drops that
/// frame, counts in <see cref="NetClientStats.Faults"/>, is logged once per client
/// (<see cref="NetClient.ContainFault"/>), and the client and the process go on: one bad frame
/// never takes a netdev down. With <see cref="Rethrow"/> it propagates from where it was thrown,
/// so tests and fuzzers still see the bug that containment would hide.
/// </summary>
public static class FrameFaults
{
    /// <summary>The environment variable that turns <see cref="Rethrow"/> on: <c>NETDEVD_RETHROW_FRAME_FAULTS=1</c>.</summary>
    public const string RethrowVariable = "NETDEVD_RETHROW_FRAME_FAULTS";

    /// <summary>
    /// Whether faults propagate instead of being contained (they are still counted). Read from
    /// <see cref="RethrowVariable"/> once, at first use; tests may set it.
    /// </summary>
    public static bool Rethrow { get; set; } = Environment.GetEnvironmentVariable(RethrowVariable) == "1";
}
