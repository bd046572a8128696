using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>CLONE_NEWNET: the network namespace type for <see cref="SetNs"/>.</summary>
    public const int CLONE_NEWNET = 0x40000000;

    /// <summary>
    /// setns(2): moves the calling thread into the namespace <paramref name="fd"/> refers to
    /// (an open /var/run/netns/NAME or /proc/PID/ns/net). Sockets created afterwards on this
    /// thread belong to that namespace for good. -1 with errno on failure.
    /// </summary>
    public static int SetNs(int fd, int namespaceType) => setns(fd, namespaceType);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int setns(int fd, int nstype);
}
