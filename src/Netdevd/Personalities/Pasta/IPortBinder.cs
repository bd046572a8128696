namespace Netdevd.Personalities.Pasta;

/// <summary>One direction's and protocol's listening sockets, as auto forwarding opens and closes them.</summary>
internal interface IPortBinder
{
    /// <summary>
    /// Opens what is not open yet of each port's sockets (one per family) and returns the ports
    /// now open in every family; a port that cannot be bound (in use) is left for the next scan.
    /// </summary>
    IReadOnlyCollection<int> Bind(IReadOnlyList<int> ports);

    /// <summary>Closes whatever is open at <paramref name="ports"/>.</summary>
    void Release(IReadOnlyList<int> ports);
}
