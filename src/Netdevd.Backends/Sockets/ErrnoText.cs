using Netdevd.Native;
using Netdevd.Qapi.Errors;

namespace Netdevd.Backends.Sockets;

/// <summary>QEMU's error_setg_errno: the text, ": ", then strerror(errno).</summary>
public static class ErrnoText
{
    public static QapiException Error(string text, int errno) => new($"{text}: {Errno.Message(errno)}");

    /// <summary>The same with the calling thread's last errno.</summary>
    public static QapiException Last(string text) => Error(text, Errno.Last);
}
