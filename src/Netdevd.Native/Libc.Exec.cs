using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>
    /// execvp(3): replaces this process with <paramref name="file"/> (searched in PATH). Returns
    /// only on failure (-1 with errno). Used by <c>netdevd run</c>'s helper, which must become the
    /// user's command in the namespace it set up, keeping its process id for the exit status.
    /// </summary>
    public static unsafe int ExecVp(string file, IReadOnlyList<string> argv)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(argv);
        var pointers = new nint[argv.Count + 1];
        try
        {
            for (var i = 0; i < argv.Count; i++)
            {
                pointers[i] = Marshal.StringToCoTaskMemUTF8(argv[i]);
            }

            fixed (nint* p = pointers)
            {
                return execvp(file, p);
            }
        }
        finally
        {
            foreach (var p in pointers)
            {
                if (p != 0)
                {
                    Marshal.FreeCoTaskMem(p);
                }
            }
        }
    }

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int execvp(string file, nint* argv);
}
