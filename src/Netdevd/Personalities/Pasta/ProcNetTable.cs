using Netdevd.Native;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// One /proc/net socket table kept open and re-read from its start on each scan, as pasta does:
/// the file shows the network namespace it was opened in, whichever thread reads it later, so the
/// namespace's tables are opened once by a thread that joined it and read from ours.
/// </summary>
internal sealed class ProcNetTable : IDisposable
{
    /// <summary>
    /// What one read takes at most: 65535 listeners of ~150 bytes a line fit well within it. A
    /// larger table (a host with very many connections) is cut there, its last line skipped.
    /// </summary>
    internal const int MaxBytes = 32 << 20;

    private int _fd;
    private byte[] _buffer = new byte[64 * 1024];

    private ProcNetTable(int fd) => _fd = fd;

    /// <summary>Opens <paramref name="path"/> in the calling thread's namespace; null when it cannot be (no IPv6: no tcp6).</summary>
    public static ProcNetTable? Open(string path)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
        return fd < 0 ? null : new ProcNetTable(fd);
    }

    /// <summary>The whole table as it is now; empty when it cannot be read.</summary>
    public ReadOnlySpan<byte> Read()
    {
        var length = 0;
        while (_fd >= 0)
        {
            if (length == _buffer.Length)
            {
                if (_buffer.Length >= MaxBytes)
                {
                    break;
                }

                Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxBytes));
            }

            var n = Libc.PRead(_fd, _buffer.AsSpan(length), length);
            if (n < 0 && Errno.Last == Errno.EINTR)
            {
                continue;
            }

            if (n <= 0)
            {
                break;
            }

            length += (int)n;
        }

        return _buffer.AsSpan(0, length);
    }

    public void Dispose()
    {
        if (_fd >= 0)
        {
            _ = Libc.Close(_fd);
            _fd = -1;
        }
    }
}
