using System.Text;

namespace Netdevd.Hosting;

/// <summary>
/// The length limit of a unix socket path (sun_path, 108 bytes) with QEMU's words for a path
/// past it (util/qemu-sockets.c). QEMU's own check lets a path of exactly 108 bytes through
/// unterminated; netdevd binds through .NET, which needs the terminating NUL, so 108 is refused
/// too, which is what QEMU's hint says anyway.
/// </summary>
internal static class UnixSocketPathLimit
{
    public const int SunPathSize = 108;

    public static string Hint => $"Path must be less than {SunPathSize} bytes";

    /// <summary>Throws <see cref="Cli.CommandLineException"/> for <paramref name="option"/> when the path does not fit.</summary>
    public static void Check(string option, string path)
    {
        if (Encoding.UTF8.GetByteCount(path) >= SunPathSize)
        {
            throw new Cli.CommandLineException($"{option}: UNIX socket path '{path}' is too long", Hint);
        }
    }
}
