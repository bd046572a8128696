namespace Netdevd.Personalities.Passt;

/// <summary>
/// What one of -t/-u/-T/-U said so far, as passt's fwd_ports_mode (the order matters: a port
/// spec after any of the last three is refused, as passt does).
/// </summary>
internal enum PortMode
{
    /// <summary>Not given: none in passt, auto in pasta.</summary>
    Unset,

    /// <summary>Ports given (the option may repeat).</summary>
    Spec,

    None,

    /// <summary>pasta only: forward whatever listens on the other side, rescanned every second.</summary>
    Auto,

    /// <summary>passt only; netdevd refuses it (one socket per port).</summary>
    All,
}
