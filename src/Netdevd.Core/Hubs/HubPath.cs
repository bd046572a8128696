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

    private readonly Hub?[] _hubs = new Hub?[Hub.MaxNesting];
    private int _depth;

    /// <summary>The hubs this thread is flooding a frame through.</summary>
    public static HubPath Forwarding => t_forwarding ??= new HubPath();

    /// <summary>The hubs this thread is passing a batch end through.</summary>
    public static HubPath BatchEnds => t_batchEnds ??= new HubPath();

    /// <summary>The hubs this thread is waking sources through.</summary>
    public static HubPath Wakes => t_wakes ??= new HubPath();

    /// <summary>
    /// Enters <paramref name="hub"/>; false when this thread is already inside it (a loop) or
    /// already <see cref="Hub.MaxNesting"/> hubs deep. Pair a true answer with <see cref="Leave"/>.
    /// </summary>
    public bool TryEnter(Hub hub)
    {
        for (var i = 0; i < _depth; i++)
        {
            if (ReferenceEquals(_hubs[i], hub))
            {
                return false;
            }
        }

        if (_depth == _hubs.Length)
        {
            return false;
        }

        _hubs[_depth++] = hub;
        return true;
    }

    /// <summary>Leaves the hub entered last.</summary>
    public void Leave() => _hubs[--_depth] = null;
}
