using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int PR_CAPBSET_DROP = 24;
    public const int PR_SET_NO_NEW_PRIVS = 38;
    public const int PR_GET_NO_NEW_PRIVS = 39;
    public const int PR_CAP_AMBIENT = 47;
    public const int PR_CAP_AMBIENT_CLEAR_ALL = 4;

    /// <summary>prctl(2) with integer arguments. -1 with errno on failure.</summary>
    public static int Prctl(int option, nuint arg2, nuint arg3) => prctl(option, arg2, arg3, 0, 0);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
