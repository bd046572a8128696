using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Netdevd.Native;

/// <summary>
/// Passing descriptors over unix stream sockets (SCM_RIGHTS ancillary data), as QEMU's
/// monitor receives them for <c>getfd</c> and vhost-user exchanges them. Socket handles are
/// borrowed with AddRef/Release so a concurrent close cannot recycle the number under us;
/// received descriptors come back as owning <see cref="SafeFileHandle"/>s.
/// </summary>
public static class UnixRights
{
    /// <summary>The most descriptors taken from one message (QEMU's TCP_MAX_FDS).</summary>
    public const int MaxFds = 16;

    public const int SOL_SOCKET = 1;
    public const int SCM_RIGHTS = 1;
    public const int MSG_CTRUNC = 0x8;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;

    // struct cmsghdr on LP64: size_t cmsg_len; int cmsg_level; int cmsg_type; data 8-aligned.
    private const int HeaderSize = ControlMessages.HeaderSize;
    private const int ControlSize = HeaderSize + (MaxFds * sizeof(int));

    /// <summary>
    /// recvmsg(2) into <paramref name="buffer"/>; descriptors that came with the bytes are
    /// appended to <paramref name="fds"/> (close-on-exec). Returns the byte count (0 at end of
    /// stream) or -1 with errno (<see cref="Errno.Last"/>).
    /// </summary>
    public static unsafe nint Receive(SafeHandle socket, Span<byte> buffer, List<SafeFileHandle> fds, int flags)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(fds);
        var added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            var control = stackalloc byte[ControlSize];
            new Span<byte>(control, ControlSize).Clear();
            fixed (byte* data = buffer)
            {
                var iov = new IoVector(data, buffer.Length);
                var header = new MessageHeader
                {
                    Iov = &iov,
                    IovLength = 1,
                    Control = control,
                    ControlLength = ControlSize,
                };
                var n = Libc.RecvMsg((int)socket.DangerousGetHandle(), &header, flags | MSG_CMSG_CLOEXEC);
                if (n >= 0)
                {
                    CollectRights(control, (int)header.ControlLength, fds);
                }

                return n;
            }
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// sendmsg(2) of <paramref name="buffer"/> with <paramref name="fds"/> attached (at most
    /// <see cref="MaxFds"/>). Returns the byte count or -1 with errno.
    /// </summary>
    public static unsafe nint Send(SafeHandle socket, ReadOnlySpan<byte> buffer, ReadOnlySpan<SafeHandle> fds, int flags)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fds.Length, MaxFds);
        var refs = new bool[fds.Length];
        var added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            for (var i = 0; i < fds.Length; i++)
            {
                fds[i].DangerousAddRef(ref refs[i]);
            }

            var controlLength = fds.Length == 0 ? 0 : HeaderSize + (fds.Length * sizeof(int));
            var control = stackalloc byte[ControlSize];
            new Span<byte>(control, ControlSize).Clear();
            if (controlLength > 0)
            {
                *(nuint*)control = (nuint)controlLength;
                *(int*)(control + 8) = SOL_SOCKET;
                *(int*)(control + 12) = SCM_RIGHTS;
                for (var i = 0; i < fds.Length; i++)
                {
                    ((int*)(control + HeaderSize))[i] = (int)fds[i].DangerousGetHandle();
                }
            }

            fixed (byte* data = buffer)
            {
                var iov = new IoVector(data, buffer.Length);
                var header = new MessageHeader
                {
                    Iov = &iov,
                    IovLength = 1,
                    Control = controlLength == 0 ? null : control,
                    ControlLength = (nuint)Align(controlLength),
                };
                return Libc.SendMsg((int)socket.DangerousGetHandle(), &header, flags | Libc.MSG_NOSIGNAL);
            }
        }
        finally
        {
            for (var i = 0; i < fds.Length; i++)
            {
                if (refs[i])
                {
                    fds[i].DangerousRelease();
                }
            }

            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    private static int Align(int length) => (length + 7) & ~7;

    private static unsafe void CollectRights(byte* control, int length, List<SafeFileHandle> fds)
    {
        for (var message = new ControlMessages(control, length); message.MoveNext();)
        {
            if (message.Level == SOL_SOCKET && message.Type == SCM_RIGHTS)
            {
                var count = message.DataLength / sizeof(int);
                var p = (int*)message.Data;
                for (var i = 0; i < count; i++)
                {
                    fds.Add(new SafeFileHandle(p[i], ownsHandle: true));
                }
            }
        }
    }
}
