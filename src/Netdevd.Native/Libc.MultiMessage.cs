using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_TRUNC = 0x20;
    public const int MSG_NOSIGNAL = 0x4000;

    /// <summary>recvmmsg(2): up to <paramref name="count"/> datagrams in one call; no timeout.</summary>
    public static unsafe int RecvMMsg(int fd, MultiMessageHeader* messages, int count, int flags) =>
        recvmmsg(fd, messages, (uint)count, flags, null);

    /// <summary>sendmmsg(2): up to <paramref name="count"/> datagrams in one call.</summary>
    public static unsafe int SendMMsg(int fd, MultiMessageHeader* messages, int count, int flags) =>
        sendmmsg(fd, messages, (uint)count, flags);

    /// <summary>recvmsg(2).</summary>
    public static unsafe nint RecvMsg(int fd, MessageHeader* message, int flags) => recvmsg(fd, message, flags);

    /// <summary>sendmsg(2).</summary>
    public static unsafe nint SendMsg(int fd, MessageHeader* message, int flags) => sendmsg(fd, message, flags);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int recvmmsg(int sockfd, MultiMessageHeader* msgvec, uint vlen, int flags, void* timeout);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int sendmmsg(int sockfd, MultiMessageHeader* msgvec, uint vlen, int flags);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial nint recvmsg(int sockfd, MessageHeader* msg, int flags);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial nint sendmsg(int sockfd, MessageHeader* msg, int flags);
}
