namespace Netdevd.Personalities;

/// <summary>One option of a C program's command line, as getopt_long(3) knows it.</summary>
/// <param name="Long">The long name without dashes, e.g. "mtu".</param>
/// <param name="Short">The short letter, or '\0' when there is none.</param>
/// <param name="TakesValue">Whether the option has a required argument.</param>
internal sealed record GetoptOption(string Long, char Short, bool TakesValue);

/// <summary>
/// getopt_long(3)'s syntax, because the programs netdevd stands in for are parsed by it and
/// their callers rely on every form: <c>--mtu=65520</c>, <c>--mtu 65520</c>, <c>-m65520</c>,
/// <c>-m 65520</c>, clustered flags (<c>-c6</c>), unambiguous long prefixes, <c>--</c>, and
/// options after operands (GNU permutes them).
/// </summary>
internal static class GetoptLong
{
    /// <summary>The options in the order given (name = long name), then the operands.</summary>
    public static (List<KeyValuePair<string, string?>> Options, List<string> Operands) Parse(
        IReadOnlyList<string> args, IReadOnlyList<GetoptOption> known, string program)
    {
        var options = new List<KeyValuePair<string, string?>>();
        var operands = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                operands.AddRange(args.Skip(i + 1));
                break;
            }

            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                var name = eq < 0 ? arg[2..] : arg[2..eq];
                var option = FindLong(known, name, program);
                string? value = null;
                if (option.TakesValue)
                {
                    value = eq >= 0 ? arg[(eq + 1)..] : i + 1 < args.Count ? args[++i] : throw Missing(program, "--" + option.Long);
                }
                else if (eq >= 0)
                {
                    throw new PersonalityUsageException($"{program}: option '--{option.Long}' doesn't allow an argument");
                }

                options.Add(new(option.Long, value));
            }
            else if (arg.Length > 1 && arg[0] == '-')
            {
                for (var j = 1; j < arg.Length; j++)
                {
                    var option = FindShort(known, arg[j], program);
                    if (!option.TakesValue)
                    {
                        options.Add(new(option.Long, null));
                        continue;
                    }

                    var value = j + 1 < arg.Length ? arg[(j + 1)..] : i + 1 < args.Count ? args[++i] : throw Missing(program, "-" + arg[j]);
                    options.Add(new(option.Long, value));
                    break;
                }
            }
            else
            {
                operands.Add(arg);
            }
        }

        return (options, operands);
    }

    private static GetoptOption FindLong(IReadOnlyList<GetoptOption> known, string name, string program)
    {
        GetoptOption? prefixMatch = null;
        var ambiguous = false;
        foreach (var option in known)
        {
            if (option.Long == name)
            {
                return option;
            }

            if (name.Length > 0 && option.Long.StartsWith(name, StringComparison.Ordinal))
            {
                ambiguous |= prefixMatch is not null;
                prefixMatch = option;
            }
        }

        if (ambiguous)
        {
            throw new PersonalityUsageException($"{program}: option '--{name}' is ambiguous");
        }

        return prefixMatch ?? throw new PersonalityUsageException($"{program}: unrecognized option '--{name}'");
    }

    private static GetoptOption FindShort(IReadOnlyList<GetoptOption> known, char letter, string program)
    {
        foreach (var option in known)
        {
            if (option.Short == letter)
            {
                return option;
            }
        }

        throw new PersonalityUsageException($"{program}: invalid option -- '{letter}'");
    }

    private static PersonalityUsageException Missing(string program, string option) =>
        new($"{program}: option '{option}' requires an argument");
}
