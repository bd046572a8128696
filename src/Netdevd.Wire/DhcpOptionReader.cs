namespace Netdevd.Wire;

/// <summary>
/// Iterates DHCP options: <c>while (r.MoveNext()) { r.Code; r.Data; }</c>. Pads are skipped, End
/// stops, and an option whose length runs past the buffer stops the walk with
/// <see cref="Malformed"/> set (never an exception, never a read beyond the span).
/// </summary>
public ref struct DhcpOptionReader
{
    private readonly ReadOnlySpan<byte> _options;
    private int _next;

    public DhcpOptionReader(ReadOnlySpan<byte> options)
    {
        _options = options;
        _next = 0;
        Code = 0;
        Data = default;
        Malformed = false;
    }

    public byte Code { get; private set; }

    public ReadOnlySpan<byte> Data { get; private set; }

    public bool Malformed { get; private set; }

    public bool MoveNext()
    {
        while (_next < _options.Length)
        {
            var code = _options[_next];
            if (code == DhcpOption.Pad)
            {
                _next++;
                continue;
            }

            if (code == DhcpOption.End)
            {
                _next = _options.Length;
                return false;
            }

            if (_next + 1 >= _options.Length || _next + 2 + _options[_next + 1] > _options.Length)
            {
                Malformed = true;
                _next = _options.Length;
                return false;
            }

            int length = _options[_next + 1];
            Code = code;
            Data = _options.Slice(_next + 2, length);
            _next += 2 + length;
            return true;
        }

        return false;
    }
}
