using System.Buffers.Binary;
using Netdevd.Wire;

namespace Netdevd.UserNet.Services;

/// <summary>
/// Stateless DHCPv6 (RFC 8415 18.2.6, RFC 3736) as libslirp's dhcpv6.c: only Information-request is
/// answered, with a Reply that echoes the client identifier and carries what the client's option
/// request asks for of the DNS servers (23) and domain search list (24); requests carrying an
/// identity association (the stateful protocol) or a malformed option get no answer. Unlike
/// libslirp the Reply carries a server identifier (a DUID-LL of the router's MAC), which RFC 8415
/// requires and clients such as ISC dhclient check.
/// </summary>
public sealed class Dhcpv6Server
{
    public const ushort ClientPort = 546;
    public const ushort ServerPort = 547;

    private const byte MessageReply = 7;
    private const byte MessageInformationRequest = 11;
    private const ushort OptionClientId = 1;
    private const ushort OptionServerId = 2;
    private const ushort OptionIaNa = 3;
    private const ushort OptionIaTa = 4;
    private const ushort OptionIaAddress = 5;
    private const ushort OptionRequest = 6;
    private const ushort OptionDnsServers = 23;
    private const ushort OptionDomainList = 24;
    private const ushort OptionIaPd = 25;

    /// <summary>libslirp refuses longer client identifiers.</summary>
    private const int MaxClientIdLength = 256;

    private readonly Ipv6Address _dns;
    private readonly byte[] _domainList;
    private readonly byte[] _serverDuid;

    /// <param name="dns">The DNS server address to hand out (ipv6-dns).</param>
    /// <param name="domainList">The search names, already in uncompressed wire form (may be empty).</param>
    /// <param name="serverMac">The link-layer address the server's DUID-LL is made of.</param>
    public Dhcpv6Server(Ipv6Address dns, ReadOnlySpan<byte> domainList, MacAddress serverMac)
    {
        _dns = dns;
        _domainList = domainList.ToArray();
        _serverDuid = new byte[10];
        BinaryPrimitives.WriteUInt16BigEndian(_serverDuid, 3); // DUID-LL
        BinaryPrimitives.WriteUInt16BigEndian(_serverDuid.AsSpan(2), 1); // Ethernet
        serverMac.WriteTo(_serverDuid.AsSpan(4));
    }

    /// <summary>The longest reply <see cref="Handle"/> writes.</summary>
    public int MaxReplyLength => 4 + (4 + MaxClientIdLength) + (4 + _serverDuid.Length) + (4 + Ipv6Address.Length) + (4 + _domainList.Length);

    /// <summary>Answers one client message (the UDP payload); returns the reply's length, 0 for no reply.</summary>
    public int Handle(ReadOnlySpan<byte> request, Span<byte> reply)
    {
        if (request.Length < 4 || request[0] != MessageInformationRequest || reply.Length < MaxReplyLength)
        {
            return 0;
        }

        var clientId = ReadOnlySpan<byte>.Empty;
        var wantDns = false;
        var wantDomains = false;
        var options = request[4..];
        while (options.Length >= 4)
        {
            var code = BinaryPrimitives.ReadUInt16BigEndian(options);
            var length = BinaryPrimitives.ReadUInt16BigEndian(options[2..]);
            if (4 + length > options.Length)
            {
                return 0; // libslirp: "Guest sent bad DHCPv6 packet!"
            }

            var body = options.Slice(4, length);
            switch (code)
            {
                case OptionIaNa or OptionIaTa or OptionIaAddress or OptionIaPd:
                    return 0; // addresses are SLAAC's; an Information-request must not carry these
                case OptionClientId:
                    if (length > MaxClientIdLength)
                    {
                        return 0;
                    }

                    clientId = body;
                    break;
                case OptionRequest:
                    if ((length & 1) != 0)
                    {
                        return 0;
                    }

                    for (var i = 0; i < length; i += 2)
                    {
                        var requested = BinaryPrimitives.ReadUInt16BigEndian(body[i..]);
                        wantDns |= requested == OptionDnsServers;
                        wantDomains |= requested == OptionDomainList;
                    }

                    break;
            }

            options = options[(4 + length)..];
        }

        reply[0] = MessageReply;
        request.Slice(1, 3).CopyTo(reply[1..]); // transaction id
        var n = 4;
        if (!clientId.IsEmpty)
        {
            n += WriteOption(reply[n..], OptionClientId, clientId);
        }

        n += WriteOption(reply[n..], OptionServerId, _serverDuid);
        if (wantDns)
        {
            Span<byte> address = stackalloc byte[Ipv6Address.Length];
            _dns.WriteTo(address);
            n += WriteOption(reply[n..], OptionDnsServers, address);
        }

        if (wantDomains && _domainList.Length > 0)
        {
            n += WriteOption(reply[n..], OptionDomainList, _domainList);
        }

        return n;
    }

    private static int WriteOption(Span<byte> buffer, ushort code, ReadOnlySpan<byte> body)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer, code);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)body.Length);
        body.CopyTo(buffer[4..]);
        return 4 + body.Length;
    }
}
