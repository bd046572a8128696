using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;
using Netdevd.Fuzz.Support;
using Netdevd.Qapi.Events;
using Netdevd.Qmp.Commands;
using Netdevd.Qmp.Protocol;
using Netdevd.Qmp.Session;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// A QMP client's bytes through a session's input and dispatch with netdevd's real command
/// table over a real registry (with the hubport backend only: the fuzzer must not open taps,
/// sockets or run scripts). The dispatcher answers a handler's unexpected exception with an
/// error response, as it must; here its log line of that case is the finding. Bit 0 of the
/// first byte starts negotiated (so every command is reachable without qmp_capabilities).
/// </summary>
public static class QmpDispatchHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var failures = new FailureLog();
        var registry = new NetdevRegistry([new HubportNetdevFactory()], new NoEvents(), NullLoggerFactory.Instance);
        using var handlers = new QmpCommandHandlers(registry);
        using var monitor = new QmpMonitor { Negotiated = (input[0] & 1) != 0 };
        try
        {
            var dispatcher = new QmpDispatcher(handlers.Commands, failures);
            var session = new QmpInput();
            foreach (var (value, error) in session.Feed(input[1..]))
            {
                var response = value is not null
                    ? dispatcher.DispatchAsync(value, monitor, CancellationToken.None).AsTask().GetAwaiter().GetResult()
                    : QmpMessages.Error(Qapi.Errors.QapiErrorClass.GenericError, error!, null);
                if (response.Length == 0 || response[^1] != (byte)'\n')
                {
                    throw new FuzzFindingException("a QMP response is not one line");
                }

                failures.ThrowIfFailed();
            }
        }
        finally
        {
            registry.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private sealed class NoEvents : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }

    /// <summary>Turns the dispatcher's "command failed" log entry (which carries the exception) back into an exception.</summary>
    private sealed class FailureLog : ILogger
    {
        private Exception? _failure;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is not null)
            {
                _failure ??= exception;
            }
        }

        public void ThrowIfFailed()
        {
            if (_failure is { } e)
            {
                throw new FuzzFindingException("a QMP command handler threw", e);
            }
        }
    }
}
