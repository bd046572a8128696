using System.Collections.Immutable;
using Netdevd.Qapi.Events;
using Netdevd.Qmp.Protocol;
using Netdevd.Qmp.Session;

namespace Netdevd.Qmp.Events;

/// <summary>
/// The event sink of the QMP server: stamps each event with the wall-clock time (QEMU's
/// g_get_real_time split into seconds and microseconds), formats it once, and queues it on
/// every session that has finished capabilities negotiation. Emitting never blocks and may
/// happen on any thread, the data path included.
/// </summary>
public sealed class QmpEventBroadcaster : IQapiEventSink
{
    private readonly TimeProvider _time;
    private ImmutableHashSet<QmpSession> _sessions = [];

    public QmpEventBroadcaster(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>How many sessions receive events now.</summary>
    public int SubscriberCount => _sessions.Count;

    public void Emit(QapiEvent qapiEvent)
    {
        ArgumentNullException.ThrowIfNull(qapiEvent);
        var sessions = _sessions;
        if (sessions.IsEmpty)
        {
            return;
        }

        var message = QmpMessages.Event(qapiEvent.Name, qapiEvent.Data, _time.GetUtcNow());
        foreach (var session in sessions)
        {
            session.PostEvent(message);
        }
    }

    internal void Subscribe(QmpSession session) => ImmutableInterlocked.Update(ref _sessions, static (s, x) => s.Add(x), session);

    internal void Unsubscribe(QmpSession session) => ImmutableInterlocked.Update(ref _sessions, static (s, x) => s.Remove(x), session);
}
