using Microsoft.Win32.SafeHandles;
using Netdevd.Native;

namespace Netdevd.Run;

/// <summary>
/// The daemon's end of the hand-off from <see cref="NamespaceChild"/>: one byte with the tap's
/// descriptor attached (SCM_RIGHTS), opened inside the namespace the tap belongs to.
/// </summary>
internal static class TapHandoff
{
    /// <summary>The tap descriptor, or -1 when the inside half ended without sending one.</summary>
    public static int Receive(SafeFileHandle channel)
    {
        var fds = new List<SafeFileHandle>(1);
        Span<byte> one = stackalloc byte[1];
        nint n;
        do
        {
            n = UnixRights.Receive(channel, one, fds, 0);
        }
        while (n < 0 && Errno.Last == Errno.EINTR);

        if (n <= 0 || fds.Count == 0)
        {
            foreach (var fd in fds)
            {
                fd.Dispose();
            }

            return -1;
        }

        var tap = (int)fds[0].DangerousGetHandle();
        fds[0].SetHandleAsInvalid();
        for (var i = 1; i < fds.Count; i++)
        {
            fds[i].Dispose();
        }

        return tap;
    }
}
