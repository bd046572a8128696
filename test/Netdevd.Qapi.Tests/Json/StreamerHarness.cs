using System.Text;
using Netdevd.Qapi.Json;

namespace Netdevd.Qapi.Tests.Json;

/// <summary>Feeds a streamer and renders what comes out as strings: the formatted value, or "error: desc".</summary>
internal static class StreamerHarness
{
    public static List<string> Run(string input, bool flush = true) => Run(Encoding.UTF8.GetBytes(input), flush);

    public static List<string> Run(byte[] input, bool flush = true, QmpJsonStreamer? streamer = null, List<string>? output = null)
    {
        output ??= [];
        var results = output;
        streamer ??= new QmpJsonStreamer(r => results.Add(Render(r)));
        streamer.Feed(input);
        if (flush)
        {
            streamer.Flush();
        }

        return output;
    }

    public static string Render(QmpJsonResult r) => r.Error is not null ? "error: " + r.Error.Message : r.Value!.ToString();
}
