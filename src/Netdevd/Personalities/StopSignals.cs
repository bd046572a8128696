using System.Runtime.InteropServices;

namespace Netdevd.Personalities;

/// <summary>SIGTERM (libvirt's destroy, podman's stop) and SIGINT end a personality's run through one token.</summary>
internal sealed class StopSignals : IDisposable
{
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _int;

    public StopSignals(CancellationTokenSource stop)
    {
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Cancel(c, stop));
        _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Cancel(c, stop));
    }

    public void Dispose()
    {
        _term.Dispose();
        _int.Dispose();
    }

    private static void Cancel(PosixSignalContext context, CancellationTokenSource stop)
    {
        context.Cancel = true;
        try
        {
            stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
