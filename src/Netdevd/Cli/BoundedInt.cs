using System.CommandLine.Parsing;
using System.Globalization;

namespace Netdevd.Cli;

/// <summary>
/// Parses an integer option's value with its range in one step, so that a value outside
/// <see cref="int"/> ("99999999999", "abc") is a range error like any other rather than a
/// conversion failure that a validator would trip over.
/// </summary>
internal static class BoundedInt
{
    public static Func<ArgumentResult, int> Parser(string name, int min, int max) => result =>
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        result.AddError($"{name} must be between {min} and {max}.");
        return min;
    };

    /// <summary>The same for an optional value (no default).</summary>
    public static Func<ArgumentResult, int?> NullableParser(string name, int min, int max)
    {
        var parse = Parser(name, min, max);
        return result => parse(result);
    }
}
