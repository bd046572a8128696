using System.Buffers.Binary;
using Netdevd.Wire;

namespace Netdevd.UserNet.Services;

/// <summary>
/// Stateless DHCPv6 (RFC 8415 18.2.6, RFC 3736) as libslirp's dhcpv6.c: only Information-request is
/// answered, with a Reply that echoes the client identifier and carries what the client's option
/// request asks for of the DNS servers (23) and domain search list (24); requests carrying an
/// identity association (the stateful protocol) or a malformed option get no answer. Unlike
/// libslirp the Reply carries a server identifier (a DUID-LL of the router's MAC), which RFC 8415
/// requires and clients such as ISC dhclient check. With an address to assign, the stateful
/// messages are answered too (Dhcpv6Server.Stateful.cs); Information-request stays as here.
/// </summary>
public sealed partial class Dhcpv6Server
{
    public const ushort ClientPort = 546;
    public const ushort ServerPort = 547;

    private const byte MessageReply = 7;
    private const byte MessageInformationRequest = 11;

    /// <summary>libslirp refuses longer client identifiers.</summary>
    private const int MaxClientIdLength = 256;

    private readonly Ipv6Address _dns;
    private readonly byte[] _domainList;
    private readonly byte[] _serverDuid;
    private readonly Ipv6Address? _address;

    /// <param name="dns">The DNS server address to hand out (ipv6-dns).</param>
    /// <param name="domainList">The search names, already in uncompressed wire form (may be empty).</param>
    /// <param name="serverMac">The link-layer address the server's DUID-LL is made of.</param>
    /// <param name="address">The guest's address for the stateful exchange (ipv6-dhcp-address); null: stateless only.</param>
    public Dhcpv6Server(Ipv6Address dns, ReadOnlySpan<byte> domainList, MacAddress serverMac, Ipv6Address? address = null)
    {
        _dns = dns;
        _address = address;
        _domainList = domainList.ToArray();
        _serverDuid = new byte[10];
        BinaryPrimitives.WriteUInt16BigEndian(_serverDuid, 3); // DUID-LL
        BinaryPrimitives.WriteUInt16BigEndian(_serverDuid.AsSpan(2), 1); // Ethernet
        serverMac.WriteTo(_serverDuid.AsSpan(4));
    }

    /// <summary>The longest reply <see cref="Handle"/> writes.</summary>
    public int MaxReplyLength => 4 + (4 + MaxClientIdLength) + (4 + _serverDuid.Length) + (4 + Ipv6Address.Length) + (4 + _domainList.Length) +
                                 (_address is null ? 0 : IaNaWithAddressLength);

    /// <summary>
    /// Answers one client message (the UDP payload) from <paramref name="client"/> (the frame's
    /// source, which a stateful Reply binds); returns the reply's length, 0 for no reply.
    /// </summary>
    public int Handle(ReadOnlySpan<byte> request, Span<byte> reply, MacAddress client = default)
    {
        if (reply.Length < MaxReplyLength)
        {
            return 0;
        }

        if (_address is { } address && request.Length >= 4 && request[0] != MessageInformationRequest)
        {
            return HandleStateful(address, request, reply, client);
        }

        if (request.Length < 4 || request[0] != MessageInformationRequest)
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
                case Dhcpv6Option.IaNa or Dhcpv6Option.IaTa or Dhcpv6Option.IaAddress or Dhcpv6Option.IaPd:
                    return 0; // addresses are SLAAC's; an Information-request must not carry these
                case Dhcpv6Option.ClientId:
                    if (length > MaxClientIdLength)
                    {
                        return 0;
                    }

                    clientId = body;
                    break;
                case Dhcpv6Option.OptionRequest:
                    if ((length & 1) != 0)
                    {
                        return 0;
                    }

                    for (var i = 0; i < length; i += 2)
                    {
                        var requested = BinaryPrimitives.ReadUInt16BigEndian(body[i..]);
                        wantDns |= requested == Dhcpv6Option.DnsServers;
                        wantDomains |= requested == Dhcpv6Option.DomainList;
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
            n += Dhcpv6Option.Write(reply[n..], Dhcpv6Option.ClientId, clientId);
        }

        n += Dhcpv6Option.Write(reply[n..], Dhcpv6Option.ServerId, _serverDuid);
        return n + WriteDnsOptions(reply[n..], wantDns, wantDomains);
    }

    /// <summary>The DNS server (23) and the search list (24, when there are names), each if asked for.</summary>
    private int WriteDnsOptions(Span<byte> buffer, bool wantDns, bool wantDomains)
    {
        var n = 0;
        if (wantDns)
        {
            Span<byte> address = stackalloc byte[Ipv6Address.Length];
            _dns.WriteTo(address);
            n += Dhcpv6Option.Write(buffer, Dhcpv6Option.DnsServers, address);
        }

        if (wantDomains && _domainList.Length > 0)
        {
            n += Dhcpv6Option.Write(buffer[n..], Dhcpv6Option.DomainList, _domainList);
        }

        return n;
    }
}
