namespace Netdevd.Qapi.Events;

/// <summary>Where components emit events; the QMP server broadcasts them to every negotiated monitor.</summary>
public interface IQapiEventSink
{
    void Emit(QapiEvent qapiEvent);
}
