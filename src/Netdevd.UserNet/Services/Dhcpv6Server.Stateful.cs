using System.Buffers.Binary;
using Netdevd.Wire;

namespace Netdevd.UserNet.Services;

/// <summary>
/// The stateful exchange (RFC 8415 18.3), served only when the netdev names the guest's address
/// (netdevd's <c>ipv6-dhcp-address</c>, which passt's -a gives): as passt's dhcpv6.c, Solicit gets
/// an Advertise and Request, Renew, Rebind and Confirm a Reply, each with the client's first IA_NA
/// holding that one address with infinite T1, T2 and lifetimes (passt's values: the address never
/// changes while the netdev lives, so the client need never come back), plus what the option
/// request asks for of the DNS options, as an Information-request's Reply. A client naming
/// another address in a Request, Renew or Rebind gets its IA back with status NotOnLink (passt;
/// RFC 8415 18.3.2), in a Confirm a NotOnLink status in the message itself (18.3.3: ISC dhclient
/// reads only that one for a Confirm, where passt's in the IA goes unseen). Server identifier
/// checks: none in a Solicit, Confirm or Rebind (passt wants ours in a Rebind, which RFC 8415 16.8
/// forbids a client to send, so it never answered one); ours in a Request and Renew. Release and
/// Decline get no answer, as in passt; a Release ends the client's binding (what query-usernet
/// lists), a Reply with the address starts or renews it.
/// </summary>
public sealed partial class Dhcpv6Server
{
    private const byte MessageSolicit = 1;
    private const byte MessageAdvertise = 2;
    private const byte MessageRequest = 3;
    private const byte MessageConfirm = 4;
    private const byte MessageRenew = 5;
    private const byte MessageRebind = 6;
    private const byte MessageRelease = 8;

    /// <summary>Clients remembered at most: a guest that changes its MAC for every message replaces the oldest.</summary>
    public const int MaxBindings = 16;

    private const ushort StatusNotOnLink = 4;

    /// <summary>RFC 8415 7.7: 0xffffffff is infinity.</summary>
    private const uint Infinity = uint.MaxValue;

    /// <summary>An IA_NA with one IA Address: header, IAID, T1, T2, then the address option (header, address, two lifetimes).</summary>
    private const int IaNaWithAddressLength = 4 + 12 + 4 + Ipv6Address.Length + 8;

    /// <summary>passt's status text for NotOnLink.</summary>
    private static ReadOnlySpan<byte> NotOnLinkText => "Prefix not appropriate for link."u8;

    private readonly List<MacAddress> _bound = [];

    /// <summary>The clients holding the address, oldest first.</summary>
    public void CopyBindings(List<Dhcpv6Binding> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (_address is { } address)
        {
            foreach (var mac in _bound)
            {
                into.Add(new Dhcpv6Binding(address, mac));
            }
        }
    }

    private void Bind(MacAddress client)
    {
        _bound.Remove(client);
        if (_bound.Count == MaxBindings)
        {
            _bound.RemoveAt(0);
        }

        _bound.Add(client);
    }

    private int HandleStateful(Ipv6Address address, ReadOnlySpan<byte> request, Span<byte> reply, MacAddress client)
    {
        // passt: a message without a client identifier gets no answer.
        if (!Dhcpv6ClientMessage.TryParse(request, out var message) || message.ClientId.IsEmpty)
        {
            return 0;
        }

        var ours = message.ServerId.SequenceEqual(_serverDuid);
        var type = MessageReply;
        switch (message.Type)
        {
            case MessageSolicit:
                if (message.HasServerId)
                {
                    return 0;
                }

                type = MessageAdvertise;
                break;
            case MessageRequest or MessageRenew when ours:
            case MessageRebind when !message.HasServerId:
                if (message.TryFindOtherAddress(address, out var code, out var ia))
                {
                    return WriteIaNotOnLink(message, code, ia, reply);
                }

                break;
            case MessageConfirm when !message.HasServerId:
                // 18.3.3: without an address to judge, no answer.
                if (message.AddressCount == 0)
                {
                    return 0;
                }

                if (message.TryFindOtherAddress(address, out _, out _))
                {
                    return WriteConfirmNotOnLink(message, reply);
                }

                break;
            case MessageRelease when ours:
                _bound.Remove(client);
                return 0;
            default:
                return 0;
        }

        var n = WriteHeader(reply, type, message);
        if (!message.FirstIaNa.IsEmpty)
        {
            n += WriteIaNa(reply[n..], message.FirstIaNa[..4], address);
            if (type == MessageReply)
            {
                Bind(client);
            }
        }

        return n + WriteDnsOptions(reply[n..], message.WantsDnsServers, message.WantsDomainList);
    }

    /// <summary>Type, the client's transaction id, its identifier and ours.</summary>
    private int WriteHeader(Span<byte> reply, byte type, in Dhcpv6ClientMessage message)
    {
        reply[0] = type;
        message.TransactionId.CopyTo(reply[1..]);
        var n = 4 + Dhcpv6Option.Write(reply[4..], Dhcpv6Option.ClientId, message.ClientId);
        return n + Dhcpv6Option.Write(reply[n..], Dhcpv6Option.ServerId, _serverDuid);
    }

    private static int WriteIaNa(Span<byte> buffer, ReadOnlySpan<byte> iaid, Ipv6Address address)
    {
        var n = Dhcpv6Option.WriteHeader(buffer, Dhcpv6Option.IaNa, IaNaWithAddressLength - 4);
        iaid.CopyTo(buffer[n..]);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[(n + 4)..], Infinity); // T1
        BinaryPrimitives.WriteUInt32BigEndian(buffer[(n + 8)..], Infinity); // T2
        n += 12;
        n += Dhcpv6Option.WriteHeader(buffer[n..], Dhcpv6Option.IaAddress, Ipv6Address.Length + 8);
        address.WriteTo(buffer[n..]);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[(n + 16)..], Infinity); // preferred
        BinaryPrimitives.WriteUInt32BigEndian(buffer[(n + 20)..], Infinity); // valid
        return n + Ipv6Address.Length + 8;
    }

    /// <summary>The client's IA as it sent it (IAID, and T1/T2 of an IA_NA) with a NotOnLink status inside, as passt does.</summary>
    private int WriteIaNotOnLink(in Dhcpv6ClientMessage message, ushort code, ReadOnlySpan<byte> ia, Span<byte> reply)
    {
        var n = WriteHeader(reply, MessageReply, message);
        var fixedPart = ia[..(code == Dhcpv6Option.IaNa ? 12 : 4)];
        n += Dhcpv6Option.WriteHeader(reply[n..], code, fixedPart.Length + StatusLength);
        fixedPart.CopyTo(reply[n..]);
        n += fixedPart.Length;
        return n + WriteNotOnLinkStatus(reply[n..]);
    }

    private int WriteConfirmNotOnLink(in Dhcpv6ClientMessage message, Span<byte> reply)
    {
        var n = WriteHeader(reply, MessageReply, message);
        return n + WriteNotOnLinkStatus(reply[n..]);
    }

    private static int StatusLength => 4 + 2 + NotOnLinkText.Length;

    private static int WriteNotOnLinkStatus(Span<byte> buffer)
    {
        var n = Dhcpv6Option.WriteHeader(buffer, Dhcpv6Option.StatusCode, 2 + NotOnLinkText.Length);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[n..], StatusNotOnLink);
        NotOnLinkText.CopyTo(buffer[(n + 2)..]);
        return StatusLength;
    }
}
