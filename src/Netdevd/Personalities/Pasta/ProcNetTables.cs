namespace Netdevd.Personalities.Pasta;

/// <summary>
/// The host's and the namespace's /proc/net socket tables, opened once. The namespace's are
/// opened by its thread through /proc/thread-self: /proc/net is /proc/self/net, the namespace of
/// the process's main thread, which stays on the host.
/// </summary>
internal sealed class ProcNetTables : IPortTables, IDisposable
{
    private static readonly string[] Names = ["tcp", "tcp6", "udp", "udp6"];

    private readonly ProcNetTable?[] _host;
    private readonly ProcNetTable?[] _namespace;

    private ProcNetTables(ProcNetTable?[] host, ProcNetTable?[] ns)
    {
        _host = host;
        _namespace = ns;
    }

    public static ProcNetTables Open(NamespaceThread ns)
    {
        var host = Array.ConvertAll(Names, n => ProcNetTable.Open($"/proc/self/net/{n}"));
        var inside = ns.Invoke(() => Array.ConvertAll(Names, n => ProcNetTable.Open($"/proc/thread-self/net/{n}")));
        return new ProcNetTables(host, inside);
    }

    public ReadOnlySpan<byte> Read(bool inNamespace, SocketTable table) =>
        (inNamespace ? _namespace : _host)[(int)table] is { } t ? t.Read() : default;

    public IReadOnlySet<ulong> OwnSockets()
    {
        var inodes = new HashSet<ulong>();
        try
        {
            foreach (var fd in Directory.EnumerateFiles("/proc/self/fd"))
            {
                // "socket:[INODE]"; a descriptor closed meanwhile has no target.
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal) && target.EndsWith(']') &&
                    ulong.TryParse(target.AsSpan(8, target.Length - 9), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var inode))
                {
                    inodes.Add(inode);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return inodes;
    }

    public void Dispose()
    {
        foreach (var t in _host.Concat(_namespace))
        {
            t?.Dispose();
        }
    }
}
