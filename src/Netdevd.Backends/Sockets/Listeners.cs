using System.Net.Sockets;
using Netdevd.Native;

namespace Netdevd.Backends.Sockets;

/// <summary>How a listening socket of a netdev or chardev is closed when it is deleted.</summary>
internal static class Listeners
{
    /// <summary>
    /// Closes <paramref name="listener"/> for good even while a copy of its descriptor lives on (a
    /// child that any thread of the process forked holds a copy of every descriptor until it
    /// execs): shutdown takes the socket out of the listening state at once, so its address can be
    /// bound again as soon as the netdev or chardev is gone. Closed alone, it kept listening while
    /// the copy lived, and adding it again right after the delete failed with "Address already in use".
    /// </summary>
    public static void Close(Socket listener)
    {
        _ = Libc.Shutdown((int)listener.SafeHandle.DangerousGetHandle(), Libc.SHUT_RDWR);
        listener.Dispose();
    }
}
