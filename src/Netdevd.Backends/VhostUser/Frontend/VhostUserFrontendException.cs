namespace Netdevd.Backends.VhostUser.Frontend;

/// <summary>The back-end refused or broke the vhost-user set-up; the connection is given up.</summary>
internal sealed class VhostUserFrontendException : Exception
{
    public VhostUserFrontendException()
    {
    }

    public VhostUserFrontendException(string message)
        : base(message)
    {
    }

    public VhostUserFrontendException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
