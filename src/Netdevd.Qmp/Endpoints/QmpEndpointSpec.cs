using System.Globalization;

namespace Netdevd.Qmp.Endpoints;

/// <summary>
/// Where a QMP server listens, parsed from QEMU's <c>-qmp</c> compat chardev syntax:
/// <c>unix:PATH[,server=on][,wait=on|off]</c> or <c>tcp:[HOST]:PORT[,server=on][,wait=on|off]</c>
/// (plus <c>tcp:[::1]:PORT</c>, which QEMU's own compat parser cannot express).
/// </summary>
/// <remarks>
/// netdevd only listens: <c>server=off</c> (QEMU connecting out to a waiting client) is
/// refused. Without <c>server</c> netdevd still listens, where QEMU would connect out.
/// As in QEMU, <c>wait</c> defaults to on for a server: start-up blocks until the first
/// client connects; say <c>wait=off</c> to go on at once.
/// </remarks>
public sealed record QmpEndpointSpec
{
    private QmpEndpointSpec(QmpEndpointKind kind, string path, string host, int port, bool wait, bool noDelay, string text)
    {
        Kind = kind;
        Path = path;
        Host = host;
        Port = port;
        Wait = wait;
        NoDelay = noDelay;
        Text = text;
    }

    public QmpEndpointKind Kind { get; }

    /// <summary>The socket file (unix).</summary>
    public string Path { get; }

    /// <summary>The address to bind (tcp); empty means every address, as QEMU's <c>tcp::PORT</c>.</summary>
    public string Host { get; }

    /// <summary>The port (tcp); 0 picks a free one.</summary>
    public int Port { get; }

    /// <summary>Block start-up until a first client connects.</summary>
    public bool Wait { get; }

    /// <summary>TCP_NODELAY on accepted TCP connections.</summary>
    public bool NoDelay { get; }

    /// <summary>The spec as given.</summary>
    public string Text { get; }

    public static QmpEndpointSpec Unix(string path, bool wait = false) =>
        new(QmpEndpointKind.Unix, path, "", 0, wait, false, $"unix:{path},server=on,wait={(wait ? "on" : "off")}");

    public static QmpEndpointSpec Tcp(string host, int port, bool wait = false) =>
        new(QmpEndpointKind.Tcp, "", host, port, wait, false, $"tcp:{FormatHost(host)}:{port},server=on,wait={(wait ? "on" : "off")}");

    /// <summary>Parses a <c>--qmp</c> argument; throws <see cref="QmpEndpointSpecException"/> with QEMU's text.</summary>
    public static QmpEndpointSpec Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.StartsWith("unix:", StringComparison.Ordinal))
        {
            return ParseUnix(spec, spec[5..]);
        }

        if (spec.StartsWith("tcp:", StringComparison.Ordinal))
        {
            return ParseTcp(spec, spec[4..]);
        }

        throw new QmpEndpointSpecException(IsOtherQemuChardev(spec)
            ? $"QMP endpoint '{spec}' is not supported by netdevd: use unix:PATH,server=on or tcp:HOST:PORT,server=on"
            : $"'{spec}' is not a valid char driver");
    }

    public override string ToString() => Text;

    private static QmpEndpointSpec ParseUnix(string spec, string rest)
    {
        var opts = ChardevOptions.Parse(rest, impliedKey: "path");
        if (!opts.TryGetValue("path", out var path) || path.Length == 0)
        {
            throw new QmpEndpointSpecException($"QMP endpoint '{spec}' needs a socket path");
        }

        if (opts.ContainsKey("host") || opts.ContainsKey("fd"))
        {
            throw new QmpEndpointSpecException("None or one of 'path', 'fd' or 'host' option required.");
        }

        var (wait, noDelay) = ServerOptions(spec, opts, allowed: ["path"]);
        return new QmpEndpointSpec(QmpEndpointKind.Unix, path, "", 0, wait, noDelay, spec);
    }

    private static QmpEndpointSpec ParseTcp(string spec, string rest)
    {
        string host;
        string portText;
        int tailStart;
        if (rest.StartsWith('['))
        {
            // netdevd's extension: a bracketed IPv6 literal, "[::1]:4444".
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= rest.Length || rest[close + 1] != ':')
            {
                throw new QmpEndpointSpecException($"parse error: {spec}");
            }

            host = rest[1..close];
            (portText, tailStart) = ReadPort(rest, close + 2);
        }
        else
        {
            // QEMU: sscanf("%64[^:]:%32[^,]"), else ":%32[^,]" with an empty host.
            var colon = rest.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                throw new QmpEndpointSpecException($"parse error: {spec}");
            }

            host = rest[..colon];
            (portText, tailStart) = ReadPort(rest, colon + 1);
        }

        if (portText.Length == 0 || host.Length > 64)
        {
            throw new QmpEndpointSpecException($"parse error: {spec}");
        }

        var opts = tailStart < rest.Length ? ChardevOptions.Parse(rest[tailStart..], impliedKey: null) : [];
        if (opts.ContainsKey("path") || opts.ContainsKey("fd") || opts.ContainsKey("host") || opts.ContainsKey("port"))
        {
            throw new QmpEndpointSpecException("None or one of 'path', 'fd' or 'host' option required.");
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            // QEMU's inet_parse/getaddrinfo would fail at listen time; we say it now.
            throw new QmpEndpointSpecException($"error parsing port in address '{FormatHost(host)}:{portText}'");
        }

        var (wait, noDelay) = ServerOptions(spec, opts, allowed: []);
        return new QmpEndpointSpec(QmpEndpointKind.Tcp, "", host, port, wait, noDelay, spec);
    }

    private static (string Port, int TailStart) ReadPort(string rest, int start)
    {
        var comma = rest.IndexOf(',', start);
        var end = comma < 0 ? rest.Length : comma;
        return (rest[start..end], comma < 0 ? rest.Length : comma + 1);
    }

    /// <summary>Checks the options QEMU accepts but netdevd does not implement, and reads server/wait/nodelay.</summary>
    private static (bool Wait, bool NoDelay) ServerOptions(string spec, Dictionary<string, string> opts, string[] allowed)
    {
        if (opts.TryGetValue("delay", out _) && opts.TryGetValue("nodelay", out _))
        {
            throw new QmpEndpointSpecException("'delay' and 'nodelay' are mutually exclusive");
        }

        foreach (var key in opts.Keys)
        {
            if (key is not ("server" or "wait" or "delay" or "nodelay") && Array.IndexOf(allowed, key) < 0)
            {
                throw new QmpEndpointSpecException($"QMP endpoint option '{key}' is not supported by netdevd");
            }
        }

        if (opts.TryGetValue("server", out var server) && !ChardevOptions.ParseBool("server", server))
        {
            throw new QmpEndpointSpecException(
                $"QMP endpoint '{spec}': netdevd only listens for QMP clients (server=on); server=off is not supported");
        }

        var wait = !opts.TryGetValue("wait", out var w) || ChardevOptions.ParseBool("wait", w);
        var noDelay = (opts.TryGetValue("nodelay", out var nd) && ChardevOptions.ParseBool("nodelay", nd))
            || (opts.TryGetValue("delay", out var d) && !ChardevOptions.ParseBool("delay", d));
        return (wait, noDelay);
    }

    private static bool IsOtherQemuChardev(string spec) =>
        spec is "null" or "pty" or "stdio" or "msmouse" or "wctablet" or "braille" or "testdev" or "con:"
        || spec.StartsWith("mon:", StringComparison.Ordinal)
        || spec.StartsWith("vc", StringComparison.Ordinal)
        || spec.StartsWith("COM", StringComparison.Ordinal)
        || spec.StartsWith("chardev:", StringComparison.Ordinal)
        || spec.StartsWith("/dev/", StringComparison.Ordinal)
        || spec.StartsWith("file:", StringComparison.Ordinal)
        || spec.StartsWith("pipe:", StringComparison.Ordinal)
        || spec.StartsWith("pty:", StringComparison.Ordinal)
        || spec.StartsWith("telnet:", StringComparison.Ordinal)
        || spec.StartsWith("tn3270:", StringComparison.Ordinal)
        || spec.StartsWith("websocket:", StringComparison.Ordinal)
        || spec.StartsWith("udp:", StringComparison.Ordinal);

    private static string FormatHost(string host) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
}
