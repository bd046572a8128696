namespace Netdevd.Personalities.Pasta;

/// <summary>Auto -T/-U ports as listeners on the namespace's loopback (each family in use), towards the host's at the same port.</summary>
internal sealed class NamespacePortBinder(NamespaceForwards forwards, string protocol, bool ipv4, bool ipv6) : IPortBinder
{
    public IReadOnlyCollection<int> Bind(IReadOnlyList<int> ports)
    {
        try
        {
            return forwards.ListenOnLoopback(protocol, ports, ipv4, ipv6);
        }
        catch (ObjectDisposedException)
        {
            // Closing down: the namespace's thread is gone.
            return [];
        }
    }

    public void Release(IReadOnlyList<int> ports) => forwards.Close(protocol, ports);
}
