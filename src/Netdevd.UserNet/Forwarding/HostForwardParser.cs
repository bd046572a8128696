using System.Net;
using Netdevd.Qapi.Errors;
using Netdevd.Wire;

namespace Netdevd.UserNet.Forwarding;

/// <summary>
/// <c>[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport</c>, checked in QEMU's order
/// (net/slirp.c slirp_hostfwd) with its reasons:
/// <c>Invalid host forwarding rule '%s' (%s)</c>. Either address may also be a bracketed IPv6
/// literal (<c>tcp:[::1]:2222-[fec0::15]:22</c>, libslirp's hostxfwd), which QEMU's IPv4-only
/// parser does not read; a bad literal gets QEMU's reason for a bad address.
/// </summary>
public static class HostForwardParser
{
    public static HostForwardRule Parse(string text, Ipv4Address defaultGuest)
    {
        ArgumentNullException.ThrowIfNull(text);
        var rest = text;
        if (!RuleText.TryCut(ref rest, ':', out var protocol))
        {
            throw Fail(text, "No : separators");
        }

        bool udp;
        if (protocol is "tcp" or "")
        {
            udp = false;
        }
        else if (protocol == "udp")
        {
            udp = true;
        }
        else
        {
            throw Fail(text, "Bad protocol name");
        }

        if (!RuleText.TryCutAddress(ref rest, ':', out var hostText, out var hostBracketed))
        {
            throw Fail(text, "Missing : separator");
        }

        if (!RuleText.TryParseAddress(hostText, hostBracketed, IPAddress.Any, out var hostAddress))
        {
            throw Fail(text, "Bad host address");
        }

        if (!RuleText.TryCut(ref rest, '-', out var hostPortText))
        {
            throw Fail(text, "Bad host port separator");
        }

        if (!CNumber.TryParseInt(hostPortText, 0, out var hostPort, out _) || hostPort is < 0 or > 65535)
        {
            throw Fail(text, "Bad host port");
        }

        if (!RuleText.TryCutAddress(ref rest, ':', out var guestText, out var guestBracketed))
        {
            throw Fail(text, "Missing guest address");
        }

        if (!RuleText.TryParseAddress(guestText, guestBracketed, ToIpAddress(defaultGuest), out var guestAddress))
        {
            throw Fail(text, "Bad guest address");
        }

        if (!CNumber.TryParseInt(rest, 0, out var guestPort, out _) || guestPort is < 1 or > 65535)
        {
            throw Fail(text, "Bad guest port");
        }

        return new HostForwardRule(text, udp, hostAddress, hostPort, guestAddress, guestPort);
    }

    /// <summary>
    /// The key of <c>hostfwd-remove</c> (HMP's hostfwd_remove): <c>[tcp|udp]:[hostaddr]:hostport</c>.
    /// </summary>
    public static (bool Udp, IPAddress HostAddress, int HostPort) ParseKey(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var rest = text;
        if (!RuleText.TryCut(ref rest, ':', out var protocol) || protocol is not ("tcp" or "" or "udp"))
        {
            throw new QapiException("invalid format");
        }

        if (!RuleText.TryCutAddress(ref rest, ':', out var hostText, out var bracketed) ||
            !RuleText.TryParseAddress(hostText, bracketed, IPAddress.Any, out var hostAddress))
        {
            throw new QapiException("invalid format");
        }

        // QEMU 9.1's hmp_hostfwd_remove: qemu_strtoi(p, NULL, 10), so the whole rest must be one
        // decimal int ("tcp::" and "tcp::22x" are invalid, not ports 0 and 22).
        if (!CNumber.TryParseInt(rest, 10, out var port, out var end) || end != rest.Length)
        {
            throw new QapiException("invalid format");
        }

        return (protocol == "udp", hostAddress, port);
    }

    private static IPAddress ToIpAddress(Ipv4Address address)
    {
        Span<byte> b = stackalloc byte[Ipv4Address.Length];
        address.WriteTo(b);
        return new IPAddress(b);
    }

    private static QapiException Fail(string rule, string reason) => new($"Invalid host forwarding rule '{rule}' ({reason})");
}
