using Netdevd.Qapi.Events;

namespace Netdevd.Core.Tests;

internal sealed class RecordingEventSink : IQapiEventSink
{
    public List<QapiEvent> Events { get; } = [];

    public void Emit(QapiEvent qapiEvent) => Events.Add(qapiEvent);
}
