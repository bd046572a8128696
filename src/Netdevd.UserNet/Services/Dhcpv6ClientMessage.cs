using System.Buffers.Binary;
using Netdevd.Wire;

namespace Netdevd.UserNet.Services;

/// <summary>
/// A client's DHCPv6 message (RFC 8415 8, 21) read for the stateful exchange: the message is
/// taken only when every option, and every option inside an IA_NA, IA_TA or IA Address, lies
/// within its parent; the client and server identifiers are DUIDs of 1 to 128 octets after their
/// type (11.1) and, like the option request, appear at most once (two would leave the answer
/// ambiguous); an IA_NA has its 12 octets of IAID, T1 and T2, an IA_TA its IAID, an IA Address
/// its 24 octets, and none stands outside an IA. Everything else (IA_PD, rapid commit, vendor
/// options) is skipped. Nothing here throws on any input.
/// </summary>
public ref struct Dhcpv6ClientMessage
{
    private const int MinDuidOptionLength = 3;
    private const int MaxDuidOptionLength = 130;
    private const int IaNaFixedLength = 12;
    private const int IaTaFixedLength = 4;
    private const int IaAddressFixedLength = 24;

    private ReadOnlySpan<byte> _options;

    /// <summary>msg-type (1 Solicit ... 11 Information-request).</summary>
    public byte Type { get; private set; }

    /// <summary>The three octets of transaction-id.</summary>
    public ReadOnlySpan<byte> TransactionId { get; private set; }

    /// <summary>The Client Identifier option's body (the client's DUID); empty when absent.</summary>
    public ReadOnlySpan<byte> ClientId { get; private set; }

    /// <summary>The Server Identifier option's body; empty when absent.</summary>
    public ReadOnlySpan<byte> ServerId { get; private set; }

    public readonly bool HasServerId => !ServerId.IsEmpty;

    /// <summary>The first IA_NA's body (IAID, T1, T2, options); empty when there is none.</summary>
    public ReadOnlySpan<byte> FirstIaNa { get; private set; }

    /// <summary>IA Address options inside all IA_NA and IA_TA options.</summary>
    public int AddressCount { get; private set; }

    /// <summary>Whether the option request asks for the DNS servers (23).</summary>
    public bool WantsDnsServers { get; private set; }

    /// <summary>Whether the option request asks for the domain search list (24).</summary>
    public bool WantsDomainList { get; private set; }

    public static bool TryParse(ReadOnlySpan<byte> message, out Dhcpv6ClientMessage result)
    {
        result = default;
        if (message.Length < 4)
        {
            return false;
        }

        var parsed = new Dhcpv6ClientMessage { Type = message[0], TransactionId = message.Slice(1, 3), _options = message[4..] };
        var seenRequest = false;
        var options = parsed._options;
        while (!options.IsEmpty)
        {
            if (!TryNext(options, out var code, out var body, out options))
            {
                return false;
            }

            switch (code)
            {
                case Dhcpv6Option.ClientId:
                    if (!parsed.ClientId.IsEmpty || body.Length is < MinDuidOptionLength or > MaxDuidOptionLength)
                    {
                        return false;
                    }

                    parsed.ClientId = body;
                    break;
                case Dhcpv6Option.ServerId:
                    if (parsed.HasServerId || body.Length is < MinDuidOptionLength or > MaxDuidOptionLength)
                    {
                        return false;
                    }

                    parsed.ServerId = body;
                    break;
                case Dhcpv6Option.IaNa:
                    if (body.Length < IaNaFixedLength || !TryCountAddresses(body[IaNaFixedLength..], out var na))
                    {
                        return false;
                    }

                    parsed.AddressCount += na;
                    if (parsed.FirstIaNa.IsEmpty)
                    {
                        parsed.FirstIaNa = body;
                    }

                    break;
                case Dhcpv6Option.IaTa:
                    if (body.Length < IaTaFixedLength || !TryCountAddresses(body[IaTaFixedLength..], out var ta))
                    {
                        return false;
                    }

                    parsed.AddressCount += ta;
                    break;
                case Dhcpv6Option.IaAddress:
                    return false; // only inside an IA (21.6)
                case Dhcpv6Option.OptionRequest:
                    if (seenRequest || (body.Length & 1) != 0)
                    {
                        return false;
                    }

                    seenRequest = true;
                    for (var i = 0; i < body.Length; i += 2)
                    {
                        var requested = BinaryPrimitives.ReadUInt16BigEndian(body[i..]);
                        parsed.WantsDnsServers |= requested == Dhcpv6Option.DnsServers;
                        parsed.WantsDomainList |= requested == Dhcpv6Option.DomainList;
                    }

                    break;
            }
        }

        result = parsed;
        return true;
    }

    /// <summary>
    /// The first IA_NA or IA_TA holding an address other than <paramref name="leased"/>: its option
    /// code and body. The options were checked by <see cref="TryParse"/>, so the walk cannot fail.
    /// </summary>
    public readonly bool TryFindOtherAddress(Ipv6Address leased, out ushort iaCode, out ReadOnlySpan<byte> ia)
    {
        var options = _options;
        while (TryNext(options, out iaCode, out ia, out options))
        {
            var fixedLength = iaCode switch { Dhcpv6Option.IaNa => IaNaFixedLength, Dhcpv6Option.IaTa => IaTaFixedLength, _ => -1 };
            if (fixedLength < 0)
            {
                continue;
            }

            var inner = ia[fixedLength..];
            while (TryNext(inner, out var code, out var body, out inner))
            {
                if (code == Dhcpv6Option.IaAddress && Ipv6Address.Read(body) != leased)
                {
                    return true;
                }
            }
        }

        iaCode = 0;
        ia = default;
        return false;
    }

    /// <summary>The IA Address options in an IA's option area, each with its fixed part and well-formed options of its own.</summary>
    private static bool TryCountAddresses(ReadOnlySpan<byte> options, out int count)
    {
        count = 0;
        while (!options.IsEmpty)
        {
            if (!TryNext(options, out var code, out var body, out options))
            {
                return false;
            }

            if (code == Dhcpv6Option.IaAddress)
            {
                if (body.Length < IaAddressFixedLength || !IsWellFormed(body[IaAddressFixedLength..]))
                {
                    return false;
                }

                count++;
            }
        }

        return true;
    }

    private static bool IsWellFormed(ReadOnlySpan<byte> options)
    {
        while (!options.IsEmpty)
        {
            if (!TryNext(options, out _, out _, out options))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Takes one option off the front (<paramref name="rest"/> is what follows it): false when fewer than its header and length remain.</summary>
    private static bool TryNext(ReadOnlySpan<byte> options, out ushort code, out ReadOnlySpan<byte> body, out ReadOnlySpan<byte> rest)
    {
        if (options.Length < 4 || 4 + BinaryPrimitives.ReadUInt16BigEndian(options[2..]) > options.Length)
        {
            code = 0;
            body = default;
            rest = default;
            return false;
        }

        code = BinaryPrimitives.ReadUInt16BigEndian(options);
        body = options.Slice(4, BinaryPrimitives.ReadUInt16BigEndian(options[2..]));
        rest = options[(4 + body.Length)..];
        return true;
    }
}
