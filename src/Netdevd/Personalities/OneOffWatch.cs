using Netdevd.Qapi.Events;
using Netdevd.Qapi.Objects;

namespace Netdevd.Personalities;

/// <summary>
/// passt's --one-off: the event sink of the personality's netdevs, which ends the run when the
/// stream netdev <see cref="_netdevId"/> reports its (first) client gone.
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
            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
