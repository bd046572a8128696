using Microsoft.Win32.SafeHandles;

namespace Netdevd.UserNet.Services.Tftp;

/// <summary>
/// Serves regular files under a root directory, read-only. Names are relative ('/' separated);
/// absolute names, '..' components, backslashes, NULs and trailing slashes are refused (access
/// violation), and the path is resolved component by component so that a symbolic link anywhere
/// in it may point only inside the root.
/// </summary>
public sealed class DirectoryTftpFileSource : ITftpFileSource
{
    private const int MaxLinkHops = 40;
    private readonly string _root;

    public DirectoryTftpFileSource(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        _root = RealPath(Path.GetFullPath(root)) ?? Path.GetFullPath(root);
    }

    public TftpOpenResult Open(string name, out ITftpFile? file)
    {
        file = null;
        if (name.Length == 0 || name[0] == '/' || name[^1] == '/' || name.Contains('\\', StringComparison.Ordinal) ||
            name.Contains('\0', StringComparison.Ordinal) || Path.IsPathRooted(name))
        {
            return TftpOpenResult.AccessViolation;
        }

        foreach (var part in name.Split('/'))
        {
            if (part == "..")
            {
                return TftpOpenResult.AccessViolation;
            }
        }

        var resolved = Resolve(name, out var escaped);
        if (escaped)
        {
            return TftpOpenResult.AccessViolation;
        }

        if (resolved is null || !File.Exists(resolved))
        {
            return TftpOpenResult.NotFound;
        }

        try
        {
            var handle = File.OpenHandle(resolved, FileMode.Open, FileAccess.Read, FileShare.Read);
            file = new HandleFile(handle);
            return TftpOpenResult.Ok;
        }
        catch (UnauthorizedAccessException)
        {
            return TftpOpenResult.AccessViolation;
        }
        catch (IOException)
        {
            return TftpOpenResult.NotFound;
        }
    }

    /// <summary>Walks <paramref name="name"/> from the root, following links; null if a part is missing.</summary>
    private string? Resolve(string name, out bool escaped)
    {
        escaped = false;
        var current = _root;
        foreach (var part in name.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            var next = Path.Combine(current, part);
            var real = RealPath(next);
            if (real is null)
            {
                return null;
            }

            if (!IsInsideRoot(real))
            {
                escaped = true;
                return null;
            }

            current = real;
        }

        return current;
    }

    private bool IsInsideRoot(string path) =>
        path == _root || path.StartsWith(_root.EndsWith('/') ? _root : _root + "/", StringComparison.Ordinal);

    /// <summary>Follows a chain of links at the last component (bounded); null when missing or looping.</summary>
    private static string? RealPath(string path)
    {
        for (var hops = 0; hops < MaxLinkHops; hops++)
        {
            FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
            if (!info.Exists && info.LinkTarget is null)
            {
                return null;
            }

            if (info.LinkTarget is not { } target)
            {
                return Path.GetFullPath(path);
            }

            var dir = Path.GetDirectoryName(path) ?? "/";
            path = Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(dir, target));
        }

        return null;
    }

    private sealed class HandleFile(SafeFileHandle handle) : ITftpFile
    {
        public long Length { get; } = RandomAccess.GetLength(handle);

        public int Read(long offset, Span<byte> destination)
        {
            var total = 0;
            while (total < destination.Length)
            {
                var n = RandomAccess.Read(handle, destination[total..], offset + total);
                if (n <= 0)
                {
                    break;
                }

                total += n;
            }

            return total;
        }

        public void Dispose() => handle.Dispose();
    }
}
