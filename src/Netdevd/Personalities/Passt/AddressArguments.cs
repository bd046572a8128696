using System.Globalization;
using System.Net;

namespace Netdevd.Personalities.Passt;

/// <summary>
/// The address options passt and pasta share (conf.c): -a, -g and --dns-forward take an IPv6 or an
/// IPv4 address, one of each family (the last given wins), and refuse the same special addresses
/// with the same texts; -n is IPv4's alone (an IPv6 address always gets a /64); --map-guest-addr
/// and --map-host-loopback take either family or <c>none</c> (both families off).
/// </summary>
internal sealed class AddressArguments
{
    private readonly string _program;

    public AddressArguments(string program) => _program = program;

    public IPAddress? Address4 { get; private set; }

    public IPAddress? Address6 { get; private set; }

    /// <summary>-n: null when not given (or 0, pasta's "derive it"); 0-32 as pasta takes it.</summary>
    public int? Netmask { get; private set; }

    public IPAddress? Gateway4 { get; private set; }

    public IPAddress? Gateway6 { get; private set; }

    public IPAddress? DnsForward4 { get; private set; }

    public IPAddress? DnsForward6 { get; private set; }

    public IPAddress? MapGuest4 { get; private set; }

    public IPAddress? MapGuest6 { get; private set; }

    public IPAddress? MapHostLoopback4 { get; private set; }

    public IPAddress? MapHostLoopback6 { get; private set; }

    /// <summary>--no-map-gw, or --map-host-loopback none.</summary>
    public bool NoMapGateway { get; set; }

    /// <summary>-a: IPv6 unless unspecified, loopback, IPv4-mapped or -compatible, multicast; else IPv4 unless unspecified, broadcast, loopback, multicast.</summary>
    public void Address(string value)
    {
        if (InetPton.TryParse6(value, out var a6) && !InetPton.IsUnspecified(a6) && !InetPton.IsLoopback(a6) &&
            !a6.IsIPv4MappedToIPv6 && !InetPton.IsV4Compatible(a6) && !InetPton.IsMulticast(a6))
        {
            Address6 = a6;
            return;
        }

        if (InetPton.TryParse4(value, out var a4) && !InetPton.IsUnspecified(a4) && !InetPton.IsBroadcast4(a4) &&
            !InetPton.IsLoopback(a4) && !InetPton.IsMulticast(a4))
        {
            Address4 = a4;
            return;
        }

        throw Die($"Invalid address: {value}");
    }

    /// <summary>-g: IPv6 unless unspecified or loopback; else IPv4 unless unspecified, broadcast or loopback.</summary>
    public void Gateway(string value)
    {
        if (InetPton.TryParse6(value, out var g6) && !InetPton.IsUnspecified(g6) && !InetPton.IsLoopback(g6))
        {
            Gateway6 = g6;
            return;
        }

        if (InetPton.TryParse4(value, out var g4) && !InetPton.IsUnspecified(g4) && !InetPton.IsBroadcast4(g4) && !InetPton.IsLoopback(g4))
        {
            Gateway4 = g4;
            return;
        }

        throw Die($"Invalid gateway address: {value}");
    }

    /// <summary>--dns-forward: IPv6 unless unspecified or loopback; else IPv4 unless unspecified, broadcast or loopback.</summary>
    public void DnsForward(string value)
    {
        if (InetPton.TryParse6(value, out var d6) && !InetPton.IsUnspecified(d6) && !InetPton.IsLoopback(d6))
        {
            DnsForward6 = d6;
            return;
        }

        if (InetPton.TryParse4(value, out var d4) && !InetPton.IsUnspecified(d4) && !InetPton.IsBroadcast4(d4) && !InetPton.IsLoopback(d4))
        {
            DnsForward4 = d4;
            return;
        }

        throw Die($"Invalid DNS forwarding address: {value}");
    }

    /// <summary>
    /// -n: a contiguous dotted netmask or a C number (strtoul, base 0) up to 32. pasta reads 0, and
    /// text without digits, as "not given"; its IPv4 prefix only: an IPv6 length such as 64 is refused.
    /// </summary>
    public void SetNetmask(string value)
    {
        int length;
        if (InetPton.TryParse4(value, out var mask))
        {
            var bits = Ipv4Arguments.ToUInt32(mask);
            length = System.Numerics.BitOperations.PopCount(bits);
            // pasta's check shifts by the length, 32 included, which x86 takes modulo 32: an
            // all-ones mask stays itself and is refused, as pasta refuses 255.255.255.255.
            if (length == 32 || bits << length != 0)
            {
                throw Die($"Invalid netmask: {value}");
            }
        }
        else if (StrToUL(value) is { } number && number <= 32)
        {
            length = (int)number;
        }
        else
        {
            throw Die($"Invalid netmask: {value}");
        }

        Netmask = length == 0 ? null : length;
    }

    /// <summary>--map-guest-addr.</summary>
    public void MapGuest(string value)
    {
        var (v4, v6) = Remap(value, out var none);
        if (none)
        {
            (MapGuest4, MapGuest6) = (null, null);
        }

        MapGuest4 = v4 ?? MapGuest4;
        MapGuest6 = v6 ?? MapGuest6;
    }

    /// <summary>--map-host-loopback; <c>none</c> also means --no-map-gw.</summary>
    public void MapHostLoopback(string value)
    {
        var (v4, v6) = Remap(value, out var none);
        if (none)
        {
            (MapHostLoopback4, MapHostLoopback6, NoMapGateway) = (null, null, true);
        }

        MapHostLoopback4 = v4 ?? MapHostLoopback4;
        MapHostLoopback6 = v6 ?? MapHostLoopback6;
    }

    /// <summary>
    /// conf_nat: <c>none</c>, or an IPv6 address that is neither unspecified, loopback nor multicast,
    /// or such an IPv4 address. (passt 2025-01 refused <c>none</c> by a slip its later releases fixed;
    /// netdevd takes it as they do.)
    /// </summary>
    private (IPAddress? V4, IPAddress? V6) Remap(string value, out bool none)
    {
        none = value == "none";
        if (none)
        {
            return (null, null);
        }

        if (InetPton.TryParse6(value, out var a6) && !InetPton.IsUnspecified(a6) && !InetPton.IsLoopback(a6) && !InetPton.IsMulticast(a6))
        {
            return (null, a6);
        }

        if (InetPton.TryParse4(value, out var a4) && !InetPton.IsUnspecified(a4) && !InetPton.IsLoopback(a4) && !InetPton.IsMulticast(a4))
        {
            return (a4, null);
        }

        throw Die($"Invalid address to remap to host: {value}");
    }

    /// <summary>strtoul(value, NULL, 0) as pasta checks it: null on overflow; text without a number is 0.</summary>
    private static ulong? StrToUL(string text)
    {
        var s = text.AsSpan().TrimStart(" \t\n\v\f\r");
        var negative = false;
        if (s.Length > 0 && (s[0] == '+' || s[0] == '-'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        var radix = 10;
        if (s.Length > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s.Length > 2 && char.IsAsciiHexDigit(s[2]))
        {
            radix = 16;
            s = s[2..];
        }
        else if (s.Length > 0 && s[0] == '0')
        {
            radix = 8;
        }

        ulong value = 0;
        foreach (var c in s)
        {
            var digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? char.ToLowerInvariant(c) - 'a' + 10 : int.MaxValue;
            if (digit >= radix)
            {
                break;
            }

            try
            {
                value = checked((value * (ulong)radix) + (ulong)digit);
            }
            catch (OverflowException)
            {
                return null;
            }
        }

        // A negative number wraps around, as strtoul's: far above 32.
        return negative && value != 0 ? ulong.MaxValue - value + 1 : value;
    }

    private PersonalityUsageException Die(string message) => new(string.Create(CultureInfo.InvariantCulture, $"{_program}: {message}"));
}
