using System.Net;
using System.Net.Sockets;
using Netdevd.UserNet.Config;
using Netdevd.Wire;

namespace Netdevd.UserNet.Forwarding;

/// <summary>QEMU's get_str_sep: the text up to the next separator, and the rest after it.</summary>
internal static class RuleText
{
    /// <summary>Cuts <paramref name="rest"/> at <paramref name="separator"/>; false (nothing changed) when it has none.</summary>
    public static bool TryCut(ref string rest, char separator, out string field)
    {
        var i = rest.IndexOf(separator, StringComparison.Ordinal);
        if (i < 0)
        {
            field = "";
            return false;
        }

        field = rest[..i];
        rest = rest[(i + 1)..];
        return true;
    }

    /// <summary>
    /// Cuts an address field: a bracketed IPv6 literal (<c>[::1]</c>, whose colons are not
    /// separators) when <paramref name="rest"/> starts with one closed right before
    /// <paramref name="separator"/>, else QEMU's plain field up to the separator.
    /// </summary>
    public static bool TryCutAddress(ref string rest, char separator, out string field, out bool bracketed)
    {
        var close = rest.StartsWith('[') ? rest.IndexOf(']', StringComparison.Ordinal) : -1;
        if (close > 0 && close + 1 < rest.Length && rest[close + 1] == separator)
        {
            field = rest[1..close];
            rest = rest[(close + 2)..];
            bracketed = true;
            return true;
        }

        bracketed = false;
        if (close > 0 && close + 1 == rest.Length)
        {
            // "[addr]" and nothing after it: the separator is missing, not the address bad.
            field = "";
            return false;
        }

        return TryCut(ref rest, separator, out field);
    }

    /// <summary>
    /// An address field: a bracketed one must be an IPv6 literal, a plain one an IPv4 address as
    /// inet_aton reads it (QEMU's only form); empty is <paramref name="empty"/>.
    /// </summary>
    public static bool TryParseAddress(string field, bool bracketed, IPAddress empty, out IPAddress address)
    {
        if (bracketed)
        {
            // Only a plain IPv6 literal: IPAddress.TryParse also reads IPv4 forms and zone indexes.
            if (field.Contains(':', StringComparison.Ordinal) && IPAddress.TryParse(field, out var parsed) &&
                parsed.AddressFamily == AddressFamily.InterNetworkV6 && parsed.ScopeId == 0)
            {
                address = parsed;
                return true;
            }

            address = IPAddress.None;
            return false;
        }

        if (field.Length == 0)
        {
            address = empty;
            return true;
        }

        if (InetAton.TryParse(field, out var v4))
        {
            Span<byte> b = stackalloc byte[Ipv4Address.Length];
            v4.WriteTo(b);
            address = new IPAddress(b);
            return true;
        }

        address = IPAddress.None;
        return false;
    }
}
