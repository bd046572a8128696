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

    public void Dispose()
    {
        foreach (var t in _host.Concat(_namespace))
        {
            t?.Dispose();
        }
    }
}
