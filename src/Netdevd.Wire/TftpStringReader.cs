namespace Netdevd.Wire;

/// <summary>
/// Reads NUL-terminated strings one by one (filename, mode, then option name/value pairs). A string
/// without its NUL is not returned: RFC 1350 requires the terminator, and a missing one means the
/// packet was cut.
/// </summary>
public ref struct TftpStringReader
{
    private ReadOnlySpan<byte> _rest;

    public TftpStringReader(ReadOnlySpan<byte> strings) => _rest = strings;

    public readonly bool IsAtEnd => _rest.IsEmpty;

    public bool TryRead(out ReadOnlySpan<byte> value)
    {
        var nul = _rest.IndexOf((byte)0);
        if (nul < 0)
        {
            value = default;
            _rest = default;
            return false;
        }

        value = _rest[..nul];
        _rest = _rest[(nul + 1)..];
        return true;
    }
}
