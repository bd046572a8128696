using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>setsid(2): a new session without a controlling terminal, as a daemon that outlives its starter needs.</summary>
    public static int SetSid() => setsid();

    /// <summary>dup2(2): makes <paramref name="newFd"/> (e.g. stderr) a copy of <paramref name="oldFd"/>.</summary>
    public static int Dup2(int oldFd, int newFd) => dup2(oldFd, newFd);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int setsid();

    [LibraryImport(Library, SetLastError = true)]
    private static partial int dup2(int oldFd, int newFd);
}
