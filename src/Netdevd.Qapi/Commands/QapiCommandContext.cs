namespace Netdevd.Qapi.Commands;

/// <summary>
/// What a command handler may know about the monitor that sent the command: its file
/// descriptors passed with <c>getfd</c> (QEMU's monitor fd list) and its cancellation.
/// </summary>
public sealed class QapiCommandContext
{
    public QapiCommandContext(IMonitorFdStore? fds = null, CancellationToken cancellationToken = default)
    {
        Fds = fds;
        CancellationToken = cancellationToken;
    }

    /// <summary>The monitor's named descriptors; null outside a monitor (command line).</summary>
    public IMonitorFdStore? Fds { get; }

    public CancellationToken CancellationToken { get; }
}
