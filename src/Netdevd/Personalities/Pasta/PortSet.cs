using System.Numerics;

namespace Netdevd.Personalities.Pasta;

/// <summary>A set of port numbers (1 to 65535) as a bitmap, as pasta's forwarding maps.</summary>
internal sealed class PortSet
{
    private const int Words = 65536 / 64;

    private static readonly PortSet Empty = new();

    private readonly ulong[] _bits = new ulong[Words];

    public PortSet()
    {
    }

    public PortSet(IEnumerable<int> ports)
    {
        foreach (var p in ports)
        {
            Add(p);
        }
    }

    public bool Contains(int port) => (uint)port <= ushort.MaxValue && (_bits[port >> 6] & (1UL << port)) != 0;

    /// <summary>Adds <paramref name="port"/>; port 0 and numbers outside 16 bits are not ports and are ignored.</summary>
    public void Add(int port)
    {
        if (port is > 0 and <= ushort.MaxValue)
        {
            _bits[port >> 6] |= 1UL << port;
        }
    }

    public void Remove(int port)
    {
        if ((uint)port <= ushort.MaxValue)
        {
            _bits[port >> 6] &= ~(1UL << port);
        }
    }

    public void Clear() => Array.Clear(_bits);

    public void CopyFrom(PortSet other) => other._bits.CopyTo(_bits, 0);

    public void UnionWith(PortSet other)
    {
        for (var i = 0; i < Words; i++)
        {
            _bits[i] |= other._bits[i];
        }
    }

    public void ExceptWith(PortSet other)
    {
        for (var i = 0; i < Words; i++)
        {
            _bits[i] &= ~other._bits[i];
        }
    }

    public int Count
    {
        get
        {
            var n = 0;
            foreach (var w in _bits)
            {
                n += BitOperations.PopCount(w);
            }

            return n;
        }
    }

    /// <summary>The ports in this set and not in <paramref name="other"/>, ascending.</summary>
    public List<int> Except(PortSet other)
    {
        var ports = new List<int>();
        for (var i = 0; i < Words; i++)
        {
            for (var w = _bits[i] & ~other._bits[i]; w != 0; w &= w - 1)
            {
                ports.Add((i << 6) | BitOperations.TrailingZeroCount(w));
            }
        }

        return ports;
    }

    /// <summary>The ports, ascending.</summary>
    public List<int> ToList() => Except(Empty);
}
