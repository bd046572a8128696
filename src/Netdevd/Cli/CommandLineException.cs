namespace Netdevd.Cli;

/// <summary>
/// A bad command-line option; the message is printed after "netdevd: ", then the hint on a line
/// of its own (as QEMU prints error hints), and the exit status is 1.
/// </summary>
internal sealed class CommandLineException(string message, string? hint = null) : Exception(message)
{
    public string? Hint { get; } = hint;

    /// <summary>The whole text for stderr.</summary>
    public string Describe() => Hint is null ? $"netdevd: {Message}" : $"netdevd: {Message}\n{Hint}";
}
