using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Json;

/// <summary>One complete top-level JSON value from the input, or the error that took its place.</summary>
public readonly record struct QmpJsonResult(QObject? Value, QapiException? Error)
{
    public bool IsError => Error is not null;
}
