using System.Text;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Json;

/// <summary>One JSON value from a string, as QEMU's qobject_from_json parses command-line JSON.</summary>
public static class QmpJson
{
    /// <summary>
    /// Parses exactly one value. Errors: the parser's <c>JSON parse error, ...</c> texts,
    /// <c>Expecting a JSON value</c> for empty input, <c>Expecting at most one JSON value</c>
    /// when more follows the first value (QEMU reports the first error it meets).
    /// </summary>
    public static QObject Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);

        // QEMU sees a C string: it ends at the first NUL.
        var nul = text.IndexOf('\0', StringComparison.Ordinal);
        if (nul >= 0)
        {
            text = text[..nul];
        }

        QObject? result = null;
        QapiException? error = null;
        var streamer = new QmpJsonStreamer(r =>
        {
            if (result is not null)
            {
                result = null;
                error = new QapiException("Expecting at most one JSON value");
            }

            if (error is not null)
            {
                return;
            }

            result = r.Value;
            error = r.Error;
        });
        streamer.Feed(Encoding.UTF8.GetBytes(text));
        streamer.Flush();
        if (error is not null)
        {
            throw error;
        }

        return result ?? throw new QapiException("Expecting a JSON value");
    }
}
