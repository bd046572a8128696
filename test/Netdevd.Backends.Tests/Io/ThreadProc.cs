using System.Globalization;

namespace Netdevd.Backends.Tests.Io;

/// <summary>What /proc says of a thread of this process, for tests that check what an I/O thread ran with.</summary>
internal static class ThreadProc
{
    /// <summary>The calling thread's id: /proc/thread-self links to PID/task/TID.</summary>
    public static int CurrentId() =>
        int.Parse(Path.GetFileName(Directory.ResolveLinkTarget("/proc/thread-self", returnFinalTarget: false)!.FullName), CultureInfo.InvariantCulture);

    /// <summary>
    /// The fields of a /proc stat file after the thread's name (which may hold spaces and parentheses):
    /// index 0 is field 3 of proc(5), the state.
    /// </summary>
    public static string[] StatFields(string path)
    {
        var stat = File.ReadAllText(path);
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }
}
