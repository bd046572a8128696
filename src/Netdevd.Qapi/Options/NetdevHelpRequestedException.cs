namespace Netdevd.Qapi.Options;

/// <summary>
/// <c>-netdev help</c> (or <c>type=help</c>, <c>?</c>) was given: the caller should print
/// "Available netdev backend types:" and the types it provides, then exit successfully.
/// </summary>
public sealed class NetdevHelpRequestedException : Exception
{
    public NetdevHelpRequestedException()
        : base("Help on netdev backend types was requested")
    {
    }

    public NetdevHelpRequestedException(string message)
        : base(message)
    {
    }

    public NetdevHelpRequestedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
