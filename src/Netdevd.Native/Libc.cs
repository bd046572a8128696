namespace Netdevd.Native;

/// <summary>
/// Entry points into the C library. Each lives in its own file (Libc.NAME.cs) with its structs
/// beside it. All calls that can fail set errno, read with <see cref="Errno.Last"/>.
/// </summary>
public static partial class Libc
{
    internal const string Library = "libc";
}
