namespace Netdevd.Backends.Stream;

/// <summary>
/// A socket could not be set up; the message is QEMU's text for the same failure. The stream
/// netdev shows it as <c>error: MESSAGE</c> in its info; the legacy socket netdev returns it.
/// </summary>
internal sealed class SocketSetupException : Exception
{
    public SocketSetupException()
    {
    }

    public SocketSetupException(string message)
        : base(message)
    {
    }

    public SocketSetupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>error_setg_errno: <c>TEXT: strerror(errno)</c>.</summary>
    public static SocketSetupException WithErrno(string text, int errno) => new($"{text}: {Native.Errno.Message(errno)}");
}
