using System.Globalization;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;
using Netdevd.Qapi.Parsing;
using Netdevd.Qapi.Schema;
using Netdevd.Qapi.Visitors;

namespace Netdevd.Qapi.Options;

/// <summary>
/// A <c>-netdev</c> argument to a <see cref="Netdev"/>, chosen and parsed as QEMU 9.1 does
/// (net/net.c): JSON (<c>{...}</c>) and keyval syntax for stream and dgram ("modern", with
/// typed visiting as for QMP or keyval's string conversion), the legacy QemuOpts syntax
/// and its opts visitor for everything else.
/// </summary>
public static class NetdevSpecParser
{
    /// <summary>
    /// Parses <paramref name="spec"/>. Errors are <see cref="QapiException"/>s with QEMU's
    /// texts; a help request throws <see cref="NetdevHelpRequestedException"/>.
    /// <paramref name="warn"/> receives deprecation warnings of the legacy syntax.
    /// </summary>
    public static Netdev Parse(string spec, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return IsModern(spec) ? ParseModern(spec) : ParseLegacy(spec, warn);
    }

    /// <summary>
    /// QEMU's netdev_is_modern: JSON, or a type (implied first item or <c>type=</c>, the last
    /// one counting) of stream or dgram; netdevd's own vhost-user-backend, which has a
    /// SocketAddress member as stream does, is modern too.
    /// </summary>
    public static bool IsModern(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Length > 0 && spec[0] == '{')
        {
            return true;
        }

        var opts = new QemuOpts(null);
        QemuOptsParser.Parse(opts, spec, "type");
        return opts.Get("type") is "stream" or "dgram" or "vhost-user-backend";
    }

    /// <summary>QEMU's netdev_parse_modern via qobject_input_visitor_new_str.</summary>
    private static Netdev ParseModern(string spec)
    {
        if (spec[0] == '{')
        {
            // A text starting with '{' parses to a dict or fails.
            var root = (QDict)QmpJson.Parse(spec);
            return Netdev.Visit(new QObjectInputVisitor(root), null);
        }

        var args = KeyvalParser.Parse(spec, "type");
        return Netdev.Visit(new QObjectInputVisitor(args, keyval: true), null);
    }

    /// <summary>QEMU's net_client_parse + net_init_netdev + net_client_init.</summary>
    private static Netdev ParseLegacy(string spec, Action<string>? warn)
    {
        var opts = QemuOptsParser.Parse(spec, "type", warn);
        if (opts.Get("type") is "help" or "?")
        {
            throw new NetdevHelpRequestedException();
        }

        RewriteIpv6Net(opts);
        return Netdev.Visit(new OptsInputVisitor(opts), null);
    }

    /// <summary>The convenience option <c>ipv6-net=ADDR[/LEN]</c> becomes ipv6-prefix and ipv6-prefixlen (default 64).</summary>
    private static void RewriteIpv6Net(QemuOpts opts)
    {
        var net = opts.Get("ipv6-net");
        if (net is null)
        {
            return;
        }

        if (net.Length == 0)
        {
            throw QapiErrors.InvalidValue("ipv6-net", "a valid IPv6 prefix");
        }

        var slash = net.IndexOf('/', StringComparison.Ordinal);
        var prefix = slash < 0 ? net : net[..slash];
        ulong length = 64;
        if (slash >= 0)
        {
            // qemu_strtoul: the rest must be one number (strtoul's blanks, sign and wrap included).
            var rest = net[(slash + 1)..];
            length = CStrtol.StrToULL(rest, 0, 10, out var end, out var overflow);
            if (overflow || end == 0 || end != rest.Length)
            {
                throw new QapiException("parameter 'ipv6-net' expects a number after '/'");
            }
        }

        opts.Add("ipv6-prefix", prefix);
        opts.Add("ipv6-prefixlen", unchecked((long)length).ToString(CultureInfo.InvariantCulture));
        opts.RemoveLast("ipv6-net");
    }
}
