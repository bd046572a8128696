using Netdevd.Core.UserNetworks;
using Netdevd.Personalities.Passt;
using Netdevd.Qapi.Errors;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// Auto -t/-u ports as host forwards of the user netdev, made and removed at run time: each port
/// on every host address, in both families as the given ports are, into the namespace at the
/// same port.
/// </summary>
internal sealed class HostPortBinder(IUserNetwork network, string protocol, bool ipv4, System.Net.IPAddress? address6) : IPortBinder
{
    /// <summary>The forwards open per port, by their removal key (<c>proto:addr:port</c>).</summary>
    private readonly Dictionary<int, List<string>> _open = [];

    public IReadOnlyCollection<int> Bind(IReadOnlyList<int> ports)
    {
        var complete = new List<int>();
        foreach (var port in ports)
        {
            if (!_open.TryGetValue(port, out var keys))
            {
                keys = [];
                _open.Add(port, keys);
            }

            var all = true;
            foreach (var rule in PastaAddressing.HostForwardRules(new PortForward(protocol, null, port, port), ipv4, address6))
            {
                // The key is the rule's host end: "tcp::80-:80" is removed as "tcp::80".
                var key = rule[..rule.IndexOf('-', StringComparison.Ordinal)];
                if (keys.Contains(key))
                {
                    continue;
                }

                try
                {
                    _ = network.AddHostForward(rule);
                    keys.Add(key);
                }
                catch (QapiException)
                {
                    // In use on the host: as pasta, quietly tried again on the next scan.
                    all = false;
                }
            }

            if (all)
            {
                complete.Add(port);
            }
        }

        return complete;
    }

    public void Release(IReadOnlyList<int> ports)
    {
        foreach (var port in ports)
        {
            if (_open.Remove(port, out var keys))
            {
                foreach (var key in keys)
                {
                    _ = network.RemoveHostForward(key);
                }
            }
        }
    }
}
