using System.Globalization;
using System.Net;

namespace Netdevd.Personalities.Passt;

/// <summary>
/// passt's and pasta's port specifications (-t/-u): <c>none</c>, or
/// <c>[ADDR[%DEV]/]ITEM[,ITEM...]</c> where an item is <c>PORT[-PORT][:PORT[-PORT]]</c> (host
/// ports, then the guest's when they differ) or <c>~PORT[-PORT]</c> (excluded from the others).
/// netdevd binds one socket per forwarded port, so <c>all</c> (and exclusions alone, which mean
/// "all but") is refused, and so are more than <see cref="MaxPorts"/> ports. <c>auto</c> (pasta
/// only) is noted in the option's <see cref="PortMode"/>; the option's forwards then come from
/// scanning the other side (<see cref="Pasta.AutoForwards"/>).
/// </summary>
internal static class PortSpec
{
    public const int MaxPorts = 4096;

    /// <summary>
    /// Adds the forwards of <paramref name="spec"/> to <paramref name="into"/> and updates the
    /// option's <paramref name="mode"/>, with passt's conf_ports() checks and texts for modes
    /// that conflict (<paramref name="pasta"/>: pasta's rules for <c>auto</c> and <c>all</c>).
    /// </summary>
    public static void Parse(string program, bool pasta, string option, string protocol, string spec, ref PortMode mode, List<PortForward> into)
    {
        if (spec is "none" or "auto" or "all")
        {
            if (mode != PortMode.Unset)
            {
                throw new PersonalityUsageException($"{program}: Port forwarding mode '{spec}' conflicts with previous mode");
            }

            mode = spec switch
            {
                "none" => PortMode.None,
                "auto" when !pasta => throw new PersonalityUsageException($"{program}: 'auto' port forwarding is only allowed for pasta"),
                "auto" => PortMode.Auto,
                _ when pasta => throw new PersonalityUsageException($"{program}: 'all' port forwarding is only allowed for passt"),
                _ => throw Bad(program, option, spec, "'all' (every port) is not supported by netdevd: it binds one socket per port; give the ports"),
            };
            return;
        }

        if (mode > PortMode.Spec)
        {
            throw new PersonalityUsageException($"{program}: Specific ports cannot be specified together with all/none/auto");
        }

        mode = PortMode.Spec;

        IPAddress? address = null;
        var items = spec;
        var slash = spec.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            var bind = spec[..slash];
            items = spec[(slash + 1)..];
            if (bind.Contains('%', StringComparison.Ordinal))
            {
                throw Bad(program, option, spec, "binding to an interface (%DEV) is not supported by netdevd");
            }

            if (!IPAddress.TryParse(bind, out address))
            {
                throw Bad(program, option, spec, $"'{bind}' is not an address");
            }
        }

        var forwards = new List<(int Host, int Guest)>();
        var excluded = new HashSet<int>();
        foreach (var item in items.Split(','))
        {
            if (item.StartsWith('~'))
            {
                var (first, last) = Range(program, option, spec, item[1..]);
                for (var p = first; p <= last; p++)
                {
                    excluded.Add(p);
                }

                continue;
            }

            var colon = item.IndexOf(':', StringComparison.Ordinal);
            var (hostFirst, hostLast) = Range(program, option, spec, colon < 0 ? item : item[..colon]);
            var (guestFirst, guestLast) = colon < 0 ? (hostFirst, hostLast) : Range(program, option, spec, item[(colon + 1)..]);
            if (guestLast - guestFirst != hostLast - hostFirst)
            {
                throw Bad(program, option, spec, $"'{item}': the host and guest ranges differ in size");
            }

            for (var p = hostFirst; p <= hostLast; p++)
            {
                forwards.Add((p, guestFirst + (p - hostFirst)));
            }
        }

        if (forwards.Count == 0)
        {
            throw Bad(program, option, spec, "exclusions alone mean every other port, which netdevd does not support; give the ports");
        }

        foreach (var (host, guest) in forwards)
        {
            if (excluded.Contains(host))
            {
                continue;
            }

            if (into.Count >= MaxPorts)
            {
                throw Bad(program, option, spec, $"more than {MaxPorts} forwarded ports");
            }

            into.Add(new PortForward(protocol, address, host, guest));
        }
    }

    private static (int First, int Last) Range(string program, string option, string spec, string text)
    {
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var first = Port(program, option, spec, dash < 0 ? text : text[..dash]);
        var last = dash < 0 ? first : Port(program, option, spec, text[(dash + 1)..]);
        return last < first ? throw Bad(program, option, spec, $"'{text}': the range ends before it starts") : (first, last);
    }

    private static int Port(string program, string option, string spec, string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw Bad(program, option, spec, $"'{text}' is not a port number");

    private static PersonalityUsageException Bad(string program, string option, string spec, string why) =>
        new($"{program}: invalid port specifier for {option} '{spec}': {why}");
}
