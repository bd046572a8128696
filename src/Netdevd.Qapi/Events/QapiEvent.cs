using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Events;

/// <summary>An event as the schema defines it; the QMP monitor adds the timestamp when it sends it.</summary>
public sealed record QapiEvent(string Name, QDict? Data);
