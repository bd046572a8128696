namespace Netdevd.Personalities.Pasta;

/// <summary>
/// The listening sockets in a /proc/net/{tcp,tcp6,udp,udp6} table, as pasta's
/// procfs_scan_listen(): per line <c>SL: LOCALADDR:PORT REMADDR:PORT STATE ...</c>, all in hex
/// but the slot. The table comes from the kernel, but it is still read as untrusted text: a line
/// that does not have that shape (the header, a truncated last line, garbage) is skipped, and no
/// field longer than the kernel writes it is taken.
/// </summary>
internal static class ListeningSockets
{
    /// <summary>TCP_LISTEN in the kernel's tcp_states.h.</summary>
    public const int TcpListen = 0x0A;

    /// <summary>TCP_CLOSE, which a bound, unconnected UDP socket shows.</summary>
    public const int UdpBound = 0x07;

    /// <summary>
    /// Adds to <paramref name="into"/> the local port of every line in <paramref name="state"/>,
    /// except those in <paramref name="exclude"/> and the sockets (by inode) in <paramref name="own"/>.
    /// </summary>
    public static void Scan(ReadOnlySpan<byte> table, int state, PortSet into, PortSet exclude, IReadOnlySet<ulong>? own = null)
    {
        while (!table.IsEmpty)
        {
            var end = table.IndexOf((byte)'\n');
            var line = end < 0 ? table : table[..end];
            table = end < 0 ? default : table[(end + 1)..];
            if (TryParseLine(line, out var port, out var lineState, out var inode) && lineState == state && !exclude.Contains(port) &&
                (own is null || inode == 0 || !own.Contains(inode)))
            {
                into.Add(port);
            }
        }
    }

    /// <summary>
    /// The local port, state and inode of one line; false for anything but a well-formed socket
    /// line. The inode (the sixth field after the state) is 0 when it is absent or not a number.
    /// </summary>
    internal static bool TryParseLine(ReadOnlySpan<byte> line, out int port, out int state, out ulong inode)
    {
        port = state = 0;
        inode = 0;
        var rest = line.TrimStart((byte)' ');

        // "SL:" the slot, decimal.
        var colon = rest.IndexOf((byte)':');
        if (colon is <= 0 or > 10 || !AllDecimal(rest[..colon]))
        {
            return false;
        }

        rest = rest[(colon + 1)..];
        if (!NextField(ref rest, out var local) || !NextField(ref rest, out var remote) || !NextField(ref rest, out var st))
        {
            return false;
        }

        // ADDR:PORT, the address 8 (IPv4) or 32 (IPv6) hex digits, the port 4.
        if (!Endpoint(local, out port) || !Endpoint(remote, out _) || port == 0)
        {
            return false;
        }

        if (st.Length is < 1 or > 2 || !TryHex(st, out state))
        {
            return false;
        }

        // tx:rx, tr:when, retrnsmt, uid, timeout, then the inode.
        for (var i = 0; i < 6 && NextField(ref rest, out var field); i++)
        {
            if (i == 5 && field.Length is >= 1 and <= 19 && AllDecimal(field))
            {
                inode = ulong.Parse(field, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return true;
    }

    private static bool Endpoint(ReadOnlySpan<byte> field, out int port)
    {
        port = 0;
        var colon = field.IndexOf((byte)':');
        return colon is 8 or 32 && TryHex(field[..colon], out _) && field.Length - colon - 1 == 4 && TryHex(field[(colon + 1)..], out port);
    }

    /// <summary>The next space-separated field of <paramref name="rest"/>.</summary>
    private static bool NextField(ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> field)
    {
        rest = rest.TrimStart((byte)' ');
        var space = rest.IndexOf((byte)' ');
        field = space < 0 ? rest : rest[..space];
        rest = space < 0 ? default : rest[space..];
        return !field.IsEmpty;
    }

    private static bool AllDecimal(ReadOnlySpan<byte> text)
    {
        foreach (var c in text)
        {
            if (c is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Hex digits to a value: only the low 32 bits are kept, which an address's digits fill up and the port's and state's (4 and 2) never reach.</summary>
    private static bool TryHex(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        foreach (var c in text)
        {
            var digit = c switch
            {
                >= (byte)'0' and <= (byte)'9' => c - '0',
                >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
                >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | digit;
        }

        return !text.IsEmpty;
    }
}
