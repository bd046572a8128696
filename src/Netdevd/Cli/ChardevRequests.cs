using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;
using Netdevd.Qapi.Parsing;
using Netdevd.Qapi.Schema;

namespace Netdevd.Cli;

/// <summary>
/// Turns the <c>-chardev</c> arguments into chardev backends as QEMU does: QemuOpts over the
/// chardev option list (qemu_chardev_opts, implied key <c>backend</c>), then
/// qemu_chr_new_from_opts' checks and qemu_chr_parse_socket. Everything is checked before any
/// chardev is opened.
/// </summary>
internal static class ChardevRequests
{
    /// <summary>The keys of qemu_chardev_opts; any other is "Invalid parameter".</summary>
    private static readonly Dictionary<string, char> s_keys = new(StringComparer.Ordinal)
    {
        // s = string, n = number, b = bool, z = size
        ["backend"] = 's', ["path"] = 's', ["input-path"] = 's', ["host"] = 's', ["port"] = 's',
        ["fd"] = 's', ["localaddr"] = 's', ["localport"] = 's', ["to"] = 'n', ["ipv4"] = 'b',
        ["ipv6"] = 'b', ["wait"] = 'b', ["server"] = 'b', ["delay"] = 'b', ["nodelay"] = 'b',
        ["reconnect"] = 'n', ["reconnect-ms"] = 'n', ["telnet"] = 'b', ["tn3270"] = 'b',
        ["tls-creds"] = 's', ["tls-authz"] = 's', ["websocket"] = 'b', ["width"] = 'n',
        ["height"] = 'n', ["cols"] = 'n', ["rows"] = 'n', ["mux"] = 'b', ["signal"] = 'b',
        ["name"] = 's', ["debug"] = 'n', ["size"] = 'z', ["chardev"] = 's', ["append"] = 'b',
        ["logfile"] = 's', ["logappend"] = 'b', ["mouse"] = 'b', ["clipboard"] = 'b',
        ["tight"] = 'b', ["abstract"] = 'b',
    };

    /// <param name="provides">Whether this build has a backend kind (the chardev registry's answer).</param>
    public static IReadOnlyList<ChardevRequest> Parse(IReadOnlyList<string> specs, Func<ChardevBackendKind, bool> provides, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(provides);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<ChardevRequest>(specs.Count);
        foreach (var spec in specs)
        {
            try
            {
                var opts = QemuOptsParser.Parse(spec, "backend", warn is null ? null : text => warn($"-chardev {spec}: warning: {text}"));
                CheckKeys(opts);
                if (opts.Id is { } taken && !ids.Add(taken))
                {
                    throw new QapiException($"Duplicate ID '{taken}' for chardev");
                }

                result.Add(Build(spec, opts, provides));
            }
            catch (QapiException e)
            {
                throw new CommandLineException($"-chardev {spec}: {e.Message}", e.Hint);
            }
        }

        return result;
    }

    /// <summary>qemu_opts_validate: unknown keys, then each value against its type.</summary>
    private static void CheckKeys(QemuOpts opts)
    {
        foreach (var (key, value) in opts.Options)
        {
            if (!s_keys.TryGetValue(key, out var kind))
            {
                throw new QapiException($"Invalid parameter '{key}'");
            }

            switch (kind)
            {
                case 'b' when !QapiBool.TryParse(value, out _):
                    throw new QapiException($"Parameter '{key}' expects 'on' or 'off'");
                case 'n' when !CStrtol.TryQemuStrtoU64(value, 0, out _):
                    throw new QapiException($"Parameter '{key}' expects a number");
                case 'z' when !QemuSize.TryParse(value, out _):
                    throw new QapiException($"Parameter '{key}' expects a non-negative number below 2^64");
            }
        }
    }

    /// <summary>qemu_chr_new_from_opts up to opening: id, backend, its class, then its parse hook.</summary>
    private static ChardevRequest Build(string spec, QemuOpts opts, Func<ChardevBackendKind, bool> provides)
    {
        var backend = opts.Get("backend");
        var id = opts.Id ?? throw new QapiException("chardev: no id specified");
        if (backend is null)
        {
            throw new QapiException($"chardev: \"{id}\" missing backend");
        }

        if (Kind(backend) is not { } kind || !provides(kind))
        {
            throw new QapiException($"'{backend}' is not a valid char driver name");
        }

        return new ChardevRequest(spec, id, new ChardevBackend { Type = kind, Socket = new ChardevSocketWrapper { Data = ParseSocket(opts) } });
    }

    /// <summary>qemu_chr_parse_socket: QemuOpts to ChardevSocket with the command line's defaults (server off, wait on).</summary>
    private static ChardevSocket ParseSocket(QemuOpts opts)
    {
        var path = opts.Get("path");
        var host = opts.Get("host");
        var port = opts.Get("port");
        var fd = opts.Get("fd");
        if ((path is null ? 0 : 1) + (fd is null ? 0 : 1) + (host is null ? 0 : 1) > 1)
        {
            throw new QapiException("None or one of 'path', 'fd' or 'host' option required.");
        }

        if (host is not null && port is null)
        {
            throw new QapiException("chardev: socket: no port given");
        }

        if (opts.Get("delay") is not null && opts.Get("nodelay") is not null)
        {
            throw new QapiException("'delay' and 'nodelay' are mutually exclusive");
        }

        var server = Bool(opts, "server") ?? false;
        SocketAddressLegacy addr;
        if (path is not null)
        {
            addr = new SocketAddressLegacy
            {
                Type = SocketAddressType.Unix,
                Unix = new UnixSocketAddressWrapper { Data = new UnixSocketAddress { Path = path, Tight = Bool(opts, "tight") ?? true, Abstract = Bool(opts, "abstract") ?? false } },
            };
        }
        else if (host is not null)
        {
            addr = new SocketAddressLegacy
            {
                Type = SocketAddressType.Inet,
                Inet = new InetSocketAddressWrapper
                {
                    Data = new InetSocketAddress
                    {
                        Host = host,
                        Port = port!,
                        To = opts.Get("to") is { } to ? (ushort)Number(to) : null,
                        Ipv4 = Bool(opts, "ipv4"),
                        Ipv6 = Bool(opts, "ipv6"),
                    },
                },
            };
        }
        else
        {
            addr = new SocketAddressLegacy { Type = SocketAddressType.Fd, Fd = new FdSocketAddressWrapper { Data = new Netdevd.Qapi.Schema.String { Str = fd ?? string.Empty } } };
        }

        return new ChardevSocket
        {
            Addr = addr,
            Logfile = opts.Get("logfile"),
            Logappend = Bool(opts, "logappend") ?? false,
            Nodelay = opts.Get("delay") is not null || opts.Get("nodelay") is not null
                ? !(Bool(opts, "delay") ?? true) || (Bool(opts, "nodelay") ?? false)
                : null,
            Server = server,
            Telnet = Bool(opts, "telnet"),
            Tn3270 = Bool(opts, "tn3270"),
            Websocket = Bool(opts, "websocket"),
            // The command line's wait defaults to on for a server (QMP's to off).
            Wait = opts.Get("wait") is not null || server ? Bool(opts, "wait") ?? true : null,
            Reconnect = opts.Get("reconnect") is { } r ? (long)Number(r) : null,
            ReconnectMs = opts.Get("reconnect-ms") is { } ms ? (long)Number(ms) : null,
            TlsCreds = opts.Get("tls-creds"),
            TlsAuthz = opts.Get("tls-authz"),
        };
    }

    private static ChardevBackendKind? Kind(string name)
    {
        foreach (var kind in Enum.GetValues<ChardevBackendKind>())
        {
            if (kind.ToQapi() == name)
            {
                return kind;
            }
        }

        return null;
    }

    private static bool? Bool(QemuOpts opts, string key) =>
        opts.Get(key) is { } text && QapiBool.TryParse(text, out var value) ? value : null;

    private static ulong Number(string text) => CStrtol.TryQemuStrtoU64(text, 0, out var value) ? value : 0;
}
