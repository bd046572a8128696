using Netdevd.Native;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// A non-blocking pipe between two spliced sockets, as large as the kernel lets us have (pasta
/// probes down from 8 MiB too): a large pipe takes a whole burst off the source socket per
/// splice, so the relay wakes less often per byte.
/// </summary>
internal sealed class SplicePipe : IDisposable
{
    /// <summary>pasta's largest pipe. Unprivileged, the kernel caps it at fs.pipe-max-size (1 MiB by default).</summary>
    public const int MaxSize = 8 << 20;

    private SplicePipe(int read, int write, int size)
    {
        Read = read;
        Write = write;
        Size = size;
    }

    public int Read { get; }

    public int Write { get; }

    /// <summary>The capacity the kernel gave.</summary>
    public int Size { get; }

    /// <summary>
    /// A pipe of up to <paramref name="desired"/> bytes (halved until the kernel agrees: past
    /// fs.pipe-max-size, or past the user's pipe-user-pages-soft, it refuses), or null (errno set).
    /// </summary>
    public static SplicePipe? Create(int desired)
    {
        if (Libc.Pipe2(out var read, out var write, Libc.O_NONBLOCK | Libc.O_CLOEXEC) < 0)
        {
            return null;
        }

        var size = -1;
        for (var s = desired; s > 4096 && size < 0; s /= 2)
        {
            size = Libc.Fcntl(write, Libc.F_SETPIPE_SZ, s);
        }

        if (size < 0)
        {
            size = Libc.Fcntl(write, Libc.F_GETPIPE_SZ, 0);
        }

        return new SplicePipe(read, write, Math.Max(size, 4096));
    }

    public void Dispose()
    {
        Libc.Close(Read);
        Libc.Close(Write);
    }
}
