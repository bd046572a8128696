using System.Diagnostics.CodeAnalysis;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// The flows of one protocol by key, with one expiry for all protocols: <see cref="CollectDue"/>
/// finds the flows whose <see cref="IFlow.Deadline"/> has come and the earliest deadline of the
/// rest, which the stack's owner arms its one timer for. The key is the protocol's own (its
/// address parts are whatever the protocol needs: IPv4 or IPv6), the table does not look inside.
/// </summary>
internal sealed class FlowTable<TKey, TFlow>(int capacity)
    where TKey : notnull, IEquatable<TKey>
    where TFlow : class, IFlow
{
    private readonly Dictionary<TKey, TFlow> _flows = new(capacity);
    private readonly List<TKey> _due = [];

    public int Count => _flows.Count;

    /// <summary>The flows (a struct enumerator: no allocation).</summary>
    public Dictionary<TKey, TFlow>.ValueCollection Flows => _flows.Values;

    public bool TryGet(TKey key, [MaybeNullWhen(false)] out TFlow flow) => _flows.TryGetValue(key, out flow);

    public bool Contains(TKey key) => _flows.ContainsKey(key);

    public void Add(TKey key, TFlow flow) => _flows.Add(key, flow);

    public bool Remove(TKey key, [MaybeNullWhen(false)] out TFlow flow) => _flows.Remove(key, out flow);

    public void Clear() => _flows.Clear();

    /// <summary>
    /// The flow whose deadline comes first: of flows that expire when idle, the one idle longest
    /// for its timeout, which a full table closes to make room for a new one. False when the
    /// table is empty. A scan, for when a limit is reached, not for every frame.
    /// </summary>
    public bool TryGetNextDue([MaybeNullWhen(false)] out TKey key, [MaybeNullWhen(false)] out TFlow flow)
    {
        key = default;
        flow = null;
        var first = long.MaxValue;
        foreach (var (k, f) in _flows)
        {
            if (flow is null || f.Deadline < first)
            {
                key = k;
                flow = f;
                first = f.Deadline;
            }
        }

        return flow is not null;
    }

    /// <summary>
    /// The keys of the flows due at <paramref name="now"/> (a list reused by the next call), and in
    /// <paramref name="next"/> the earliest deadline among the others.
    /// </summary>
    public List<TKey> CollectDue(long now, out long next)
    {
        _due.Clear();
        next = long.MaxValue;
        foreach (var (key, flow) in _flows)
        {
            var deadline = flow.Deadline;
            if (deadline <= now)
            {
                _due.Add(key);
            }
            else if (deadline < next)
            {
                next = deadline;
            }
        }

        return _due;
    }
}
