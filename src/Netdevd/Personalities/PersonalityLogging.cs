using Microsoft.Extensions.Logging;

namespace Netdevd.Personalities;

/// <summary>The personalities' logs: one line each on stderr (a log file once passt is in the background).</summary>
internal static class PersonalityLogging
{
    public static ILoggerFactory Create(LogLevel minimum) => LoggerFactory.Create(b =>
    {
        b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        b.SetMinimumLevel(minimum);
        b.AddFilter("Microsoft", LogLevel.Warning);
    });
}
