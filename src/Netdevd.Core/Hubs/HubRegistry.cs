namespace Netdevd.Core.Hubs;

/// <summary>The hubs of one netdevd instance, keyed by hub id; a hub is made on first use and kept, as QEMU does.</summary>
public sealed class HubRegistry
{
    private readonly Dictionary<int, Hub> _hubs = [];
    private readonly Lock _lock = new();

    public Hub GetOrCreate(int id)
    {
        lock (_lock)
        {
            if (!_hubs.TryGetValue(id, out var hub))
            {
                hub = new Hub(id);
                _hubs.Add(id, hub);
            }

            return hub;
        }
    }

    /// <summary>Creates a port on hub <paramref name="hubId"/>.</summary>
    public HubPort AddPort(int hubId, string name)
    {
        var hub = GetOrCreate(hubId);
        var port = new HubPort(name, hub);
        hub.Add(port);
        return port;
    }

    public IReadOnlyList<Hub> Snapshot()
    {
        lock (_lock)
        {
            var list = new List<Hub>(_hubs.Values);
            list.Sort(static (a, b) => a.Id.CompareTo(b.Id));
            return list;
        }
    }
}
