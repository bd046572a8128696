using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int SIGINT = 2;

    private const nint SIG_DFL = 0;
    private const nint SIG_IGN = 1;

    /// <summary>
    /// Undoes an inherited "ignore" of <paramref name="signal"/> (a shell starts background jobs
    /// with SIGINT and SIGQUIT ignored, and exec keeps that), so that the handler the program
    /// registers next is installed; a disposition that is not "ignore" is left as it is. True
    /// when it was ignored.
    /// </summary>
    public static bool StopIgnoring(int signal) => ReplaceDisposition(signal, SIG_IGN, SIG_DFL) == 0;

    /// <summary>
    /// Installs <paramref name="handler"/> (a native function) for <paramref name="signal"/>, with no
    /// flags: no SA_RESTART, so a blocking call the signal lands in returns EINTR. Only while the
    /// disposition is the default one (nothing else in the process uses the signal): 0, -1 when
    /// it is taken, or the errno.
    /// </summary>
    public static int InstallHandlerIfUnused(int signal, nint handler) => ReplaceDisposition(signal, SIG_DFL, handler);

    /// <summary>
    /// Sets <paramref name="signal"/>'s disposition to <paramref name="handler"/> (empty mask, no
    /// flags) only while it is <paramref name="expected"/>: 0, -1 when it is something else, or
    /// the errno of sigaction.
    /// </summary>
    private static unsafe int ReplaceDisposition(int signal, nint expected, nint handler)
    {
        // glibc's struct sigaction is 152 bytes on 64-bit Linux; the handler comes first.
        var old = stackalloc byte[256];
        if (sigaction(signal, null, old) != 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        if (*(nint*)old != expected)
        {
            return -1;
        }

        var action = stackalloc byte[256];
        new Span<byte>(action, 256).Clear();
        *(nint*)action = handler;
        return sigaction(signal, action, null) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int sigaction(int signum, byte* act, byte* oldact);
}
