using Netdevd.Qapi.Events;

namespace Netdevd.Personalities;

/// <summary>Events of a personality without a monitor: nobody listens.</summary>
internal sealed class NullEventSink : IQapiEventSink
{
    public void Emit(QapiEvent qapiEvent)
    {
    }
}
