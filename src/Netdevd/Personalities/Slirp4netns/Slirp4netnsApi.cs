using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Netdevd.Qapi.Errors;
using Netdevd.Core.UserNetworks;

namespace Netdevd.Personalities.Slirp4netns;

/// <summary>
/// slirp4netns's API: one JSON request per connection (<c>add_hostfwd</c>, <c>list_hostfwd</c>,
/// <c>remove_hostfwd</c>), one reply, then the connection is closed. Ids count from 1 and are
/// never reused. Replies and error texts are slirp4netns's, which podman and rootlesskit parse.
/// </summary>
internal sealed class Slirp4netnsApi
{
    /// <summary>slirp4netns reads at most this much; a longer request is refused.</summary>
    public const int MaxRequest = 4096;

    private readonly IUserNetwork _forwards;
    private readonly IPAddress _defaultGuest;
    private readonly List<Forward> _entries = [];
    private readonly Lock _lock = new();
    private int _nextId = 1;

    public Slirp4netnsApi(IUserNetwork forwards, IPAddress defaultGuest)
    {
        _forwards = forwards;
        _defaultGuest = defaultGuest;
    }

    /// <summary>The reply to one request (UTF-8 bytes as received).</summary>
    public string Handle(ReadOnlySpan<byte> request)
    {
        if (request.Length >= MaxRequest)
        {
            return Error("too large message");
        }

        // JsonDocument accepts bytes that are not UTF-8 inside strings and only fails when one is
        // read; slirp4netns's parser refuses such text outright, and so does this.
        if (!Utf8.IsValid(request))
        {
            return Error("cannot parse JSON");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(request.ToArray());
        }
        catch (JsonException)
        {
            return Error("cannot parse JSON");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Error("json_object() failed");
            }

            if (String(root, "execute") is not { } execute)
            {
                return Error("no execute found");
            }

            var arguments = root.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.Object ? a : default;
            return execute switch
            {
                "add_hostfwd" => Add(arguments),
                "list_hostfwd" => List(),
                "remove_hostfwd" => Remove(arguments),
                _ => Error("unknown execute"),
            };
        }
    }

    private string Add(JsonElement arguments)
    {
        const string Op = "add_hostfwd: ";
        var proto = String(arguments, "proto");
        if (proto is not ("tcp" or "udp"))
        {
            return Error(Op + "bad arguments.proto");
        }

        var hostText = String(arguments, "host_addr");
        if (string.IsNullOrEmpty(hostText))
        {
            hostText = "0.0.0.0";
        }

        if (!IPAddress.TryParse(hostText, out var host) || host.AddressFamily != AddressFamily.InterNetwork)
        {
            return Error(Op + "bad arguments.host_addr");
        }

        var hostPort = Number(arguments, "host_port");
        if (hostPort is <= 0 or > 65535)
        {
            return Error(Op + "bad arguments.host_port");
        }

        var guestText = String(arguments, "guest_addr");
        IPAddress? guest = _defaultGuest;
        if (!string.IsNullOrEmpty(guestText) && (!IPAddress.TryParse(guestText, out guest) || guest.AddressFamily != AddressFamily.InterNetwork))
        {
            return Error(Op + "bad arguments.guest_addr");
        }

        var guestPort = Number(arguments, "guest_port");
        if (guestPort is <= 0 or > 65535)
        {
            return Error(Op + "bad arguments.guest_port");
        }

        var rule = string.Create(CultureInfo.InvariantCulture, $"{proto}:{host}:{hostPort}-{guest}:{guestPort}");
        lock (_lock)
        {
            try
            {
                _ = _forwards.AddHostForward(rule);
            }
            catch (QapiException)
            {
                return Error(Op + "slirp_add_hostfwd failed");
            }

            var id = _nextId++;
            _entries.Add(new Forward(id, proto, host, hostPort, guest!, guestPort));
            return string.Create(CultureInfo.InvariantCulture, $"{{\"return\":{{\"id\":{id}}}}}");
        }
    }

    private string List()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("entries");
            lock (_lock)
            {
                foreach (var f in _entries)
                {
                    json.WriteStartObject();
                    json.WriteNumber("id", f.Id);
                    json.WriteString("proto", f.Proto);
                    json.WriteString("host_addr", f.Host.ToString());
                    json.WriteNumber("host_port", f.HostPort);
                    json.WriteString("guest_addr", f.Guest.ToString());
                    json.WriteNumber("guest_port", f.GuestPort);
                    json.WriteEndObject();
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private string Remove(JsonElement arguments)
    {
        const string Op = "remove_hostfwd: ";
        var id = Number(arguments, "id");
        lock (_lock)
        {
            var index = _entries.FindIndex(f => f.Id == id);
            if (index < 0)
            {
                return Error(Op + "bad arguments.id");
            }

            var f = _entries[index];
            if (!_forwards.RemoveHostForward(string.Create(CultureInfo.InvariantCulture, $"{f.Proto}:{f.Host}:{f.HostPort}")))
            {
                return Error(Op + "slirp_remove_hostfwd failed");
            }

            _entries.RemoveAt(index);
            return "{\"return\":{}}";
        }
    }

    /// <summary>A string member; null when absent, not a string, or not text (an escaped lone surrogate).</summary>
    private static string? String(JsonElement arguments, string name)
    {
        if (arguments.ValueKind != JsonValueKind.Object || !arguments.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            return v.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A JSON number as slirp4netns reads it (truncated to an integer); 0 when absent or not a number.</summary>
    private static long Number(JsonElement arguments, string name) =>
        arguments.ValueKind == JsonValueKind.Object && arguments.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d)
            && d is > int.MinValue and < int.MaxValue
            ? (long)d
            : 0;

    private static string Error(string desc) => $"{{\"error\":{{\"desc\":\"bad request: {desc}\"}}}}";

    private sealed record Forward(int Id, string Proto, IPAddress Host, long HostPort, IPAddress Guest, long GuestPort);
}
