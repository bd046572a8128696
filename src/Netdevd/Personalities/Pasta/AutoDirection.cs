namespace Netdevd.Personalities.Pasta;

/// <summary>
/// One of pasta's four forwarding maps (-t, -u, -T or -U): the ports forwarded that way. Given
/// ports stay as given (they are still needed, to keep the other direction off them); an auto
/// map is replaced by each scan and its sockets follow it (<see cref="Apply"/>).
/// </summary>
internal sealed class AutoDirection(bool auto, PortSet given, IPortBinder? binder)
{
    private readonly PortSet _complete = new();
    private PortSet _next = new();

    public bool IsAuto { get; } = auto && binder is not null;

    /// <summary>The ports forwarded this way (for an auto map, as of the last scan).</summary>
    public PortSet Map { get; private set; } = given;

    /// <summary>An empty set for the scan to fill, then given to <see cref="Apply"/>.</summary>
    public PortSet BeginScan()
    {
        _next.Clear();
        return _next;
    }

    /// <summary>
    /// The scanned ports become the map: sockets of ports gone are closed, new ports (and those
    /// not wholly bound before) bound, except any the other direction forwards (pasta's "don't
    /// loop back our own ports").
    /// </summary>
    public void Apply(PortSet reverse)
    {
        var gone = Map.Except(_next);
        var wanted = _next.Except(_complete);
        (Map, _next) = (_next, Map);
        if (binder is null)
        {
            return;
        }

        if (gone.Count > 0)
        {
            binder.Release(gone);
            foreach (var port in gone)
            {
                _complete.Remove(port);
            }
        }

        wanted.RemoveAll(reverse.Contains);
        if (wanted.Count > 0)
        {
            foreach (var port in binder.Bind(wanted))
            {
                _complete.Add(port);
            }
        }
    }

    /// <summary>Closes every socket an auto map opened.</summary>
    public void ReleaseAll()
    {
        if (IsAuto && binder is not null)
        {
            binder.Release(Map.ToList());
            Map.Clear();
            _complete.Clear();
        }
    }
}
