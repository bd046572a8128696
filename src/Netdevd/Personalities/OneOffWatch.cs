using Netdevd.Qapi.Events;
using Netdevd.Qapi.Objects;

namespace Netdevd.Personalities;

/// <summary>
/// passt's --one-off: the event sink of the personality's netdevs, which ends the run when the
/// stream netdev <see cref="_netdevId"/> reports its (first) client gone; with --vhost-user,
/// the handler of the back-end's <c>FrontendGone</c> (a vhost-user back-end emits no QAPI event).
/// </summary>
internal sealed class OneOffWatch(string netdevId, CancellationTokenSource stop) : IQapiEventSink
{
    private readonly string _netdevId = netdevId;

    public void Emit(QapiEvent qapiEvent)
    {
        ArgumentNullException.ThrowIfNull(qapiEvent);
        if (qapiEvent.Name == "NETDEV_STREAM_DISCONNECTED"
            && qapiEvent.Data?.Get("netdev-id") is QString { Value: var id }
            && id == _netdevId)
        {
            Stop();
        }
    }

    /// <summary>
    /// Raised on the back-end's control thread: the cancellation's continuations (the run's
    /// shutdown, which closes that back-end and would wait for that thread) go to the pool.
    /// </summary>
    public void OnFrontendGone(object? sender, EventArgs e)
    {
        try
        {
            _ = stop.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void Stop()
    {
        try
        {
            stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
