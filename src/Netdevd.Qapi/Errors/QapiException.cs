namespace Netdevd.Qapi.Errors;

/// <summary>
/// An error that reaches the user as QEMU reports it: a class and a description
/// (QMP <c>{"error": {"class": ..., "desc": ...}}</c>; on the command line the description alone).
/// </summary>
public sealed class QapiException : Exception
{
    public QapiException()
        : this(QapiErrorClass.GenericError, "Unknown error")
    {
    }

    public QapiException(string message)
        : this(QapiErrorClass.GenericError, message)
    {
    }

    public QapiException(string message, Exception innerException)
        : base(message, innerException)
    {
        ErrorClass = QapiErrorClass.GenericError;
    }

    public QapiException(QapiErrorClass errorClass, string message)
        : base(message)
    {
        ErrorClass = errorClass;
    }

    public QapiErrorClass ErrorClass { get; }

    /// <summary>
    /// QEMU's error_append_hint: a further line printed on the command line under the message
    /// (never sent over QMP), e.g. what an identifier may consist of.
    /// </summary>
    public string? Hint { get; init; }

    /// <summary>
    /// What QEMU reported with error_report before this error (e.g. a chardev's connect failure
    /// before "Could not open guest forwarding device"): on the command line a line of its own
    /// before the message, with the same prefix; over QMP QEMU only prints it to its stderr, so
    /// netdevd logs it.
    /// </summary>
    public string? PrecedingReport { get; init; }
}
