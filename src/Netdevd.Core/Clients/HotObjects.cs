using System.Runtime.CompilerServices;

namespace Netdevd.Core.Clients;

/// <summary>
/// The objects one frame path touches (each layer's state per frame: the tap, the hub, the user
/// netdev's engine, stack and output queue), recorded while the path is warm and read once, all
/// together, when its thread wakes from a sleep.
/// </summary>
/// <remarks>
/// A request after idling (a ping of the gateway 50 ms after the last) meets TLBs that forgot the
/// path's pages, on a virtual machine where each page walk is a two-level one; walked layer by
/// layer, the path pays those walks one after another, each found only through the object before.
/// Read from a flat list, the loads are independent and the walks overlap: measured on this
/// project's machines, 4 µs of a ~90 µs gateway ping (bench/README, session 29). Prefetch hints do
/// not do it (the same list prefetched measured nothing), most likely because this CPU drops a
/// hint that misses the TLB rather than walk the page tables for it.
/// The list holds references, so the GC keeps every address valid and current; what it keeps
/// alive past a change of the path (a netdev deleted while its peer's thread sleeps) is released
/// at the next recording.
/// </remarks>
public sealed class HotObjects
{
    /// <summary>At most this many: a tap, a hub and a user netdev record ~40.</summary>
    public const int Capacity = 96;

    private readonly object?[] _items = new object?[Capacity];
    private int _count;

    /// <summary>Objects recorded.</summary>
    public int Count => _count;

    /// <summary>Forgets every object (their references released).</summary>
    public void Clear()
    {
        Array.Clear(_items, 0, _count);
        _count = 0;
    }

    /// <summary>Records <paramref name="item"/> (nothing for null, or once full).</summary>
    public void Add(object? item)
    {
        if (item is not null && _count < Capacity)
        {
            _items[_count++] = item;
        }
    }

    /// <summary>Records a lock (its own object, taken for every frame).</summary>
    public void Add(Lock? item) => Add(Unsafe.As<Lock?, object?>(ref item));

    /// <summary>
    /// Records <paramref name="item"/> unless it was recorded already; false then (or for null, or
    /// once full), so that a walk along peers and hubs stops where it has been.
    /// </summary>
    public bool AddOnce(object? item)
    {
        if (item is null || _count == Capacity)
        {
            return false;
        }

        if (Contains(item))
        {
            return false;
        }

        _items[_count++] = item;
        return true;
    }

    /// <summary>Whether <paramref name="item"/> is recorded (the same object, not an equal one).</summary>
    public bool Contains(object item)
    {
        for (var i = 0; i < _count; i++)
        {
            if (ReferenceEquals(_items[i], item))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads the first field's byte of every object (its page's translation and its first line come in).</summary>
    public void Touch()
    {
        var items = _items;
        var sum = 0;
        for (var i = 0; i < _count; i++)
        {
            // Every object has room for one field after its type pointer, arrays their length.
            sum += Unsafe.As<FirstByte>(items[i])!.Value;
        }

        s_sink = sum;
    }

    /// <summary>Keeps the reads above from being optimised away.</summary>
    private static int s_sink;

    /// <summary>A view of any object's first byte after its type pointer.</summary>
    private sealed class FirstByte
    {
#pragma warning disable CS0649 // Only read: the bytes are the viewed object's.
        public byte Value;
#pragma warning restore CS0649
    }
}
