using Netdevd.Core.Clients;

namespace Netdevd.Core.Hubs;

/// <summary>
/// The hubs the current thread is inside, for one kind of walk through hubs (flooding a frame,
/// passing on a batch end, waking sources). Delivery is synchronous, so a frame that a loop of
/// hubports leads back into a hub would enter that hub again on the same thread, deeper in the
/// same stack, without end; a walk asks <see cref="TryEnter"/> first and stops where it says no.
/// It also bounds a long chain of hubs to <see cref="Hub.MaxNesting"/> nested hubs, so no
/// topology a monitor can build deepens the stack without bound.
/// </summary>
/// <remarks>One instance per thread and kind, made on the thread's first walk: nothing is allocated per frame.</remarks>
internal sealed class HubPath
{
    [ThreadStatic]
    private static HubPath? t_forwarding;

    [ThreadStatic]
    private static HubPath? t_batchEnds;

    [ThreadStatic]
    private static HubPath? t_wakes;

    // Hubs by serial number, not by reference: a reference stored into an array costs a type
    // check and a GC write barrier (a card-table store) per entry, on every frame's way.
    private readonly int[] _hubs = new int[Hub.MaxNesting];
    private int _depth;

    // Where the current walk starts: hubs below it belong to an outer walk that handed control to
    // an end (a backend), whose own actions are walks of their own (see EnterEnd).
    private int _base;

    /// <summary>The hubs this thread is flooding a frame through.</summary>
    public static HubPath Forwarding => t_forwarding ??= new HubPath();

    /// <summary>The hubs this thread is passing a batch end through.</summary>
    public static HubPath BatchEnds => t_batchEnds ??= new HubPath();

    /// <summary>The hubs this thread is waking sources through.</summary>
    public static HubPath Wakes => t_wakes ??= new HubPath();

    /// <summary>The calling thread's walks a frame and its batch's end take.</summary>
    public static void CollectHot(HotObjects hot)
    {
        foreach (var path in (ReadOnlySpan<HubPath>)[Forwarding, BatchEnds])
        {
            hot.Add(path);
            hot.Add(path._hubs);
        }
    }

    /// <summary>
    /// Enters <paramref name="hub"/>; false when this thread is already inside it (a loop) or
    /// already <see cref="Hub.MaxNesting"/> hubs deep. Pair a true answer with <see cref="Leave"/>.
    /// </summary>
    public bool TryEnter(Hub hub)
    {
        var serial = hub.Serial;
        for (var i = _base; i < _depth; i++)
        {
            if (_hubs[i] == serial)
            {
                return false;
            }
        }

        if (_depth == _hubs.Length)
        {
            return false;
        }

        _hubs[_depth++] = serial;
        return true;
    }

    /// <summary>Leaves the hub entered last.</summary>
    public void Leave() => _depth--;

    /// <summary>
    /// A walk hands control to an end that is not a hub port (a backend): what that end does now
    /// (a user netdev sends the replies a batch provoked and ends its own batch; a backend woken
    /// resumes and wakes its own senders) is a new walk, which must reach every hub again,
    /// including the ones this walk is inside: only re-entry through hub ports is a loop. Returns
    /// what <see cref="LeaveEnd"/> restores. The nesting bound still counts every hub on the stack.
    /// </summary>
    public int EnterEnd()
    {
        var outer = _base;
        _base = _depth;
        return outer;
    }

    /// <summary>Back from the end: the outer walk's hubs count again.</summary>
    public void LeaveEnd(int outer) => _base = outer;
}
