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

    // Exceptions reach these as text (ExceptionText): a logger formatting an exception itself could throw again.
    [LoggerMessage(Level = LogLevel.Error, Message = "QMP command {Command} failed unexpectedly: {Exception}")]
    public static partial void CommandFailed(ILogger logger, string command, string exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "QMP session {Id} failed unexpectedly and was closed: {Exception}")]
    public static partial void SessionFailed(ILogger logger, long id, string exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "QMP accept on {Endpoint} failed: {Error}; retrying")]
    public static partial void AcceptFailed(ILogger logger, string endpoint, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "QMP accept on {Endpoint} works again after {Failures} failure(s)")]
    public static partial void AcceptRecovered(ILogger logger, string endpoint, long failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "QMP has {Max} clients, its limit: refusing new clients until one leaves")]
    public static partial void ClientLimitReached(ILogger logger, int max);

    [LoggerMessage(Level = LogLevel.Warning, Message = "QMP is within {Reserve} descriptors of the process's limit ({Limit}): refusing new clients until descriptors are free")]
    public static partial void DescriptorReserveReached(ILogger logger, long reserve, long limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "QMP serves new clients again ({Refused} refused while at the limit)")]
    public static partial void ClientLimitLeft(ILogger logger, long refused);

    [LoggerMessage(Level = LogLevel.Information, Message = "netdevd waiting for connection on: {Endpoint}")]
    public static partial void WaitingForClient(ILogger logger, string endpoint);
}
