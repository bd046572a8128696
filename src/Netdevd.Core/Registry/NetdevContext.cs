using Microsoft.Extensions.Logging;
using Netdevd.Core.Hubs;
using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Events;

namespace Netdevd.Core.Registry;

/// <summary>What a factory may use while it builds a netdev.</summary>
public sealed class NetdevContext(
    NetdevRegistry registry,
    HubRegistry hubs,
    IQapiEventSink events,
    ILoggerFactory loggers,
    TimeProvider time,
    IMonitorFdStore? monitorFds,
    CancellationToken cancellationToken)
{
    public NetdevRegistry Registry { get; } = registry;

    public HubRegistry Hubs { get; } = hubs;

    public IQapiEventSink Events { get; } = events;

    public ILoggerFactory Loggers { get; } = loggers;

    public TimeProvider Time { get; } = time;

    /// <summary>The calling monitor's named descriptors (getfd); null on the command line.</summary>
    public IMonitorFdStore? MonitorFds { get; } = monitorFds;

    public CancellationToken CancellationToken { get; } = cancellationToken;
}
