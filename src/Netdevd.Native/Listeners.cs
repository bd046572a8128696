using System.Net.Sockets;

namespace Netdevd.Native;

/// <summary>How a listening socket of a netdev, chardev or host forward is closed when it is deleted.</summary>
public static class Listeners
{
    /// <summary>
    /// Closes <paramref name="listener"/> for good even while a copy of its descriptor lives on (a
    /// child that any thread of the process forked holds a copy of every descriptor until it
    /// execs): shutdown takes the socket out of the listening state at once, so its address can be
    /// bound again as soon as its netdev, chardev or forward is gone. Closed alone, it kept
    /// listening while the copy lived, and adding it again right after the delete failed with
    /// "Address already in use".
    /// </summary>
    public static void Close(Socket listener)
    {
        _ = Libc.Shutdown((int)listener.SafeHandle.DangerousGetHandle(), Libc.SHUT_RDWR);
        listener.Dispose();
    }
}
