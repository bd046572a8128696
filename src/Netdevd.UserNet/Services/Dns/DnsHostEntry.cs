using System.Net;

namespace Netdevd.UserNet.Services.Dns;

/// <summary>
/// One <c>dns-host</c> entry: <c>NAME</c> (the virtual host's addresses, IPv4 and IPv6) or
/// <c>NAME:ADDRESS</c> (that address; the name may have several entries). <see cref="Name"/> is
/// lower case without a final dot; <see cref="Address"/> null means the virtual host.
/// </summary>
public sealed record DnsHostEntry(string Name, IPAddress? Address)
{
    /// <summary>Parses one entry; the error names the whole entry as given.</summary>
    public static DnsHostEntry Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = (colon < 0 ? text : text[..colon]).TrimEnd('.');
        if (!IsValidName(name))
        {
            throw Invalid(text, "Bad name");
        }

        IPAddress? address = null;
        if (colon >= 0)
        {
            var value = text[(colon + 1)..];
            if (value.StartsWith('[') && value.EndsWith(']'))
            {
                value = value[1..^1];
            }

            if (!IPAddress.TryParse(value, out address) || value.Contains('%', StringComparison.Ordinal))
            {
                throw Invalid(text, "Bad address");
            }
        }

        return new DnsHostEntry(name.ToLowerInvariant(), address);
    }

    private static Qapi.Errors.QapiException Invalid(string text, string reason) =>
        new($"Invalid DNS host record '{text}' ({reason})");

    /// <summary>Labels of 1..63 letters, digits, '-' or '_', 253 characters at most.</summary>
    private static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 253)
        {
            return false;
        }

        var label = 0;
        foreach (var c in name)
        {
            if (c == '.')
            {
                if (label == 0)
                {
                    return false;
                }

                label = 0;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            {
                if (++label > 63)
                {
                    return false;
                }
            }
            else
            {
                return false;
            }
        }

        return label > 0;
    }
}
