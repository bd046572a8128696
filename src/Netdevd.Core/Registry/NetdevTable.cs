using System.Collections.Immutable;

namespace Netdevd.Core.Registry;

/// <summary>
/// One immutable state of a registry's netdevs: the creation order (what listings show, as
/// QEMU walks net_clients) and an index by id. Adding or removing makes a new table, so a
/// reader holding one never sees it change.
/// </summary>
internal sealed class NetdevTable
{
    public static readonly NetdevTable Empty = new([], ImmutableDictionary.Create<string, NetdevEntry>(StringComparer.Ordinal));

    private readonly ImmutableDictionary<string, NetdevEntry> _byId;

    private NetdevTable(ImmutableList<NetdevEntry> inOrder, ImmutableDictionary<string, NetdevEntry> byId)
    {
        InOrder = inOrder;
        _byId = byId;
    }

    /// <summary>The netdevs, oldest first.</summary>
    public ImmutableList<NetdevEntry> InOrder { get; }

    public NetdevEntry? Find(string? id) => id is null ? null : _byId.GetValueOrDefault(id);

    /// <summary>With <paramref name="entry"/> appended; its id must not be in use (the registry checks first).</summary>
    public NetdevTable Add(NetdevEntry entry) => new(InOrder.Add(entry), _byId.Add(entry.Id, entry));

    public NetdevTable Remove(NetdevEntry entry) => new(InOrder.Remove(entry, ReferenceEqualityComparer.Instance), _byId.Remove(entry.Id));
}
