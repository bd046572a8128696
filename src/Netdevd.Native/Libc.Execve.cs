using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>
    /// execve(2): replaces this process (same process id; the other threads end) with
    /// <paramref name="path"/>, <paramref name="argv"/> and exactly <paramref name="environment"/>
    /// ("NAME=value" each). Returns only on failure (-1 with errno).
    /// </summary>
    public static unsafe int ExecVe(string path, IReadOnlyList<string> argv, IReadOnlyList<string> environment)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(argv);
        ArgumentNullException.ThrowIfNull(environment);
        var args = new nint[argv.Count + 1];
        var env = new nint[environment.Count + 1];
        try
        {
            for (var i = 0; i < argv.Count; i++)
            {
                args[i] = Marshal.StringToCoTaskMemUTF8(argv[i]);
            }

            for (var i = 0; i < environment.Count; i++)
            {
                env[i] = Marshal.StringToCoTaskMemUTF8(environment[i]);
            }

            fixed (nint* a = args)
            fixed (nint* e = env)
            {
                return execve(path, a, e);
            }
        }
        finally
        {
            foreach (var p in args)
            {
                Marshal.FreeCoTaskMem(p);
            }

            foreach (var p in env)
            {
                Marshal.FreeCoTaskMem(p);
            }
        }
    }

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int execve(string path, nint* argv, nint* envp);
}
