using Microsoft.Extensions.Logging;

namespace Netdevd.Qmp;

/// <summary>The QMP server's log messages (source-generated, so nothing is formatted when a level is off).</summary>
internal static partial class QmpLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "QMP session {Id} opened ({Peer})")]
    public static partial void SessionOpened(ILogger logger, long id, string peer);

    [LoggerMessage(Level = LogLevel.Debug, Message = "QMP session {Id} closed ({Peer})")]
    public static partial void SessionClosed(ILogger logger, long id, string peer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "QMP session {Id} does not read its events; dropping it")]
    public static partial void SessionOverflow(ILogger logger, long id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Report}")]
    public static partial void PrecedingReport(ILogger logger, string report);

    [LoggerMessage(Level = LogLevel.Error, Message = "QMP command {Command} failed unexpectedly")]
    public static partial void CommandFailed(ILogger logger, Exception exception, string command);

    [LoggerMessage(Level = LogLevel.Warning, Message = "QMP accept on {Endpoint} failed: {Error}")]
    public static partial void AcceptFailed(ILogger logger, string endpoint, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "netdevd waiting for connection on: {Endpoint}")]
    public static partial void WaitingForClient(ILogger logger, string endpoint);
}
