namespace Netdevd.Qmp.Endpoints;

/// <summary>A <c>--qmp</c> argument that cannot be used; the message is what QEMU (or netdevd, for what it does not support) prints.</summary>
public sealed class QmpEndpointSpecException : FormatException
{
    public QmpEndpointSpecException()
    {
    }

    public QmpEndpointSpecException(string message)
        : base(message)
    {
    }

    public QmpEndpointSpecException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
