using System.CommandLine;

namespace Netdevd.Cli;

/// <summary>
/// Parses netdevd's own options and reports what is wrong with them as QEMU reports a bad
/// option: one line, <c>netdevd: MESSAGE</c>, exit status 1 (not System.CommandLine's usage page).
/// </summary>
internal static class CommandLineErrors
{
    /// <summary>
    /// No response files: QEMU takes <c>@x</c> literally, and a spec beginning with '@' must never
    /// make the daemon read a file in its place.
    /// </summary>
    private static readonly ParserConfiguration Configuration = new() { ResponseFileTokenReplacer = null };

    public static ParseResult Parse(RootCommand root, string[] args) => root.Parse(args, Configuration);

    /// <summary>Writes the first error (as QEMU stops at the first) and returns true when there is one.</summary>
    public static bool Report(ParseResult result, TextWriter error)
    {
        if (result.Errors.Count == 0)
        {
            return false;
        }

        error.WriteLine($"netdevd: {result.Errors[0].Message}");
        return true;
    }
}
