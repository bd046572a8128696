using System.Text;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qmp.Protocol;

/// <summary>
/// The messages a QMP server writes, encoded as they go on the wire: one compact JSON object
/// (QEMU's formatting, pure ASCII) followed by CRLF, since QEMU's monitor output turns every
/// newline into CRLF.
/// </summary>
internal static class QmpMessages
{
    /// <summary><c>{"QMP": {"version": ..., "capabilities": []}}</c>; netdevd offers no capability (no OOB).</summary>
    public static byte[] Greeting(QObject version) =>
        Encode(new QDict().Put("QMP", new QDict().Put("version", version).Put("capabilities", new QList())));

    /// <summary><c>{"return": VALUE, "id": ID}</c>; the id is echoed exactly as it was sent.</summary>
    public static byte[] Return(QObject value, QObject? id)
    {
        var d = new QDict().Put("return", value);
        if (id is not null)
        {
            d.Put("id", id);
        }

        return Encode(d);
    }

    /// <summary><c>{"error": {"class": C, "desc": D}, "id": ID}</c>.</summary>
    public static byte[] Error(QapiErrorClass errorClass, string description, QObject? id)
    {
        var d = new QDict().Put("error", new QDict().Put("class", errorClass.ToString()).Put("desc", description));
        if (id is not null)
        {
            d.Put("id", id);
        }

        return Encode(d);
    }

    /// <summary><c>{"event": NAME, "data": {...}, "timestamp": {"seconds": S, "microseconds": U}}</c> (no data member when the event has none).</summary>
    public static byte[] Event(string name, QDict? data, DateTimeOffset when)
    {
        var micros = (when.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        var d = new QDict().Put("event", name);
        if (data is not null)
        {
            d.Put("data", data);
        }

        d.Put("timestamp", new QDict()
            .Put("seconds", Math.DivRem(micros, 1_000_000, out var rest))
            .Put("microseconds", rest));
        return Encode(d);
    }

    public static byte[] Encode(QObject message)
    {
        var text = QmpJsonFormatter.Format(message);

        // The formatter escapes everything beyond ASCII, so ASCII encoding loses nothing.
        var bytes = new byte[text.Length + 2];
        Encoding.ASCII.GetBytes(text, bytes);
        bytes[^2] = (byte)'\r';
        bytes[^1] = (byte)'\n';
        return bytes;
    }
}
