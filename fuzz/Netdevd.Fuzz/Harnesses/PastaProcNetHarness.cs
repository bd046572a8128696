using System.Globalization;
using System.Text;
using Netdevd.Fuzz.Support;
using Netdevd.Personalities.Pasta;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// A /proc/net/{tcp,tcp6,udp,udp6} table as pasta's auto forwarding reads it
/// (<see cref="ListeningSockets.Scan"/>), whatever its bytes: byte 0 bit 0 picks the state
/// looked for (TCP_LISTEN or a bound UDP socket), bit 1 makes the sockets on lines whose slot is
/// a multiple of 3 our own (skipped by inode), byte 1 excludes a share (byte 1 / 256) of the
/// ports, the rest is the table. The result is checked against a plain reading of the format the
/// scanner documents, line by line: every port it set is on a line of that state that is not
/// excluded or ours, every such line's port is set, and port 0 never is.
/// </summary>
public static class PastaProcNetHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 2)
        {
            return;
        }

        var state = (input[0] & 1) == 0 ? ListeningSockets.TcpListen : ListeningSockets.UdpBound;
        var table = input[2..];
        var lines = Encoding.Latin1.GetString(table).Split('\n').Select(Line.Read).ToList();

        var exclude = new PortSet();
        for (var port = 1; port <= ushort.MaxValue; port++)
        {
            if ((((uint)port * 40503u) >> 8 & 0xFF) < input[1])
            {
                exclude.Add(port);
            }
        }

        var own = new HashSet<ulong>();
        if ((input[0] & 2) != 0)
        {
            foreach (var line in lines)
            {
                if (line is { Slot: var slot, Inode: not 0 } && slot % 3 == 0)
                {
                    _ = own.Add(line.Inode);
                }
            }
        }

        var into = new PortSet();
        ListeningSockets.Scan(table, state, into, exclude, (input[0] & 2) != 0 ? own : null);

        var expected = new PortSet();
        foreach (var line in lines)
        {
            if (line is not null && line.State == state && !exclude.Contains(line.Port) && (line.Inode == 0 || !own.Contains(line.Inode)))
            {
                expected.Add(line.Port);
            }
        }

        if (into.Contains(0))
        {
            throw new FuzzFindingException("port 0 was set");
        }

        var extra = into.Except(expected);
        var missing = expected.Except(into);
        if (extra.Count != 0 || missing.Count != 0)
        {
            throw new FuzzFindingException($"set ports {string.Join(',', extra)} on no line of state {state:X2} outside the exclusions, missed {string.Join(',', missing)}");
        }
    }

    /// <summary>
    /// A socket line as the kernel writes it, read with string operations instead of the
    /// scanner's span walk: "SL: LOCAL:PORT REMOTE:PORT ST" and six more fields, the last the
    /// inode; slot 1-10 decimal digits, addresses 8 or 32 hex digits, ports 4 (not 0), state 1-2,
    /// inode 1-19 decimal digits (0 when absent or otherwise).
    /// </summary>
    private sealed record Line(ulong Slot, int Port, int State, ulong Inode)
    {
        public static Line? Read(string text)
        {
            var trimmed = text.TrimStart(' ');
            var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
            if (colon is < 1 or > 10 || !trimmed[..colon].All(char.IsAsciiDigit))
            {
                return null;
            }

            var fields = trimmed[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 3 || !Endpoint(fields[0], out var port) || !Endpoint(fields[1], out _) || port == 0 ||
                fields[2].Length > 2 || !Hex(fields[2], out var state))
            {
                return null;
            }

            var inode = fields.Length > 8 && fields[8].Length <= 19 && fields[8].All(char.IsAsciiDigit)
                ? ulong.Parse(fields[8], NumberStyles.None, CultureInfo.InvariantCulture)
                : 0;
            return new Line(ulong.Parse(trimmed[..colon], NumberStyles.None, CultureInfo.InvariantCulture), port, state, inode);
        }

        private static bool Endpoint(string field, out int port)
        {
            port = 0;
            var parts = field.Split(':');
            return parts.Length == 2 && parts[0].Length is 8 or 32 && Hex(parts[0], out _) && parts[1].Length == 4 && Hex(parts[1], out port);
        }

        private static bool Hex(string text, out int value)
        {
            value = 0;
            if (text.Length == 0 || !text.All(char.IsAsciiHexDigit))
            {
                return false;
            }

            // Only the low 32 bits: an address's value is never used, a port's or state's fits.
            value = (int)(ulong.Parse(text.Length > 16 ? text[^16..] : text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture) & uint.MaxValue);
            return true;
        }
    }
}
