using System.Text;
using System.Text.RegularExpressions;
using Netdevd.Fuzz.Support;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// QMP's JSON: the streamer/lexer/parser fed in pieces (the first byte picks the piece size,
/// as a socket splits input anywhere), every value formatted both ways, and the compact text
/// parsed again, which must give the same text (the formatter writes what the parser reads).
/// The rest goes once through the command-line parser too.
/// </summary>
public static partial class QmpJsonHarness
{
    private static readonly Regex s_negativeZero = NegativeZero();
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var piece = 1 + (input[0] % 64);
        var body = input[1..];
        var values = new List<QObject>();
        var streamer = new QmpJsonStreamer(r =>
        {
            if (r.Value is { } v)
            {
                values.Add(v);
            }
        });
        for (var at = 0; at < body.Length; at += piece)
        {
            streamer.Feed(body.Slice(at, Math.Min(piece, body.Length - at)));
        }

        streamer.Flush();
        foreach (var value in values)
        {
            RoundTrip(value);
        }

        try
        {
            RoundTrip(QmpJson.Parse(Encoding.UTF8.GetString(body)));
        }
        catch (QapiException)
        {
        }
    }

    [GeneratedRegex(@"(?<![0-9.eE+-])-0(?![0-9.eE])")]
    private static partial Regex NegativeZero();

    private static void RoundTrip(QObject value)
    {
        var compact = QmpJsonFormatter.Format(value);
        _ = QmpJsonFormatter.Format(value, pretty: true);
        QObject reparsed;
        try
        {
            reparsed = QmpJson.Parse(compact);
        }
        catch (QapiException) when (compact.Contains("inf", StringComparison.Ordinal) || compact.Contains("nan", StringComparison.Ordinal))
        {
            // Non-finite doubles come out as C's %.17g writes them (inf, -nan), as in QEMU: not JSON.
            return;
        }

        // A negative zero double comes out as "-0" (C's %.17g, as in QEMU) and reads back as the integer 0.
        var again = QmpJsonFormatter.Format(reparsed);
        if (again != compact && again != s_negativeZero.Replace(compact, "0"))
        {
            throw new FuzzFindingException($"formatted JSON does not parse back to itself: {compact} -> {again}");
        }
    }
}
