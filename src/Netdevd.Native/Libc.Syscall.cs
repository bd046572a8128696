using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>Numbers of the system calls glibc 2.36 has no wrapper for, on the architectures netdevd supports.</summary>
    internal static long SyscallNumber(long x64, long arm64) => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => x64,
        Architecture.Arm64 => arm64,
        var other => throw new PlatformNotSupportedException($"no system call table for {other}"),
    };

    [LibraryImport(Library, SetLastError = true)]
    private static partial long syscall(long number, nint a1, nint a2, nint a3);

    /// <summary>The same for calls of four or five arguments (unused ones passed as 0).</summary>
    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall6(long number, nint a1, nint a2, nint a3, nint a4, nint a5);
}
