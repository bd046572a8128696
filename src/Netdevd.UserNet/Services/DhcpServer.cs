using System.Text;
using Netdevd.UserNet.Config;
using Netdevd.Wire;

namespace Netdevd.UserNet.Services;

/// <summary>
/// The built-in DHCP/BOOTP server, behaving as libslirp's bootp.c where guests can tell:
/// a pool of 16 addresses from <c>dhcpstart</c>, one per MAC; replies are 548-byte BOOTP messages
/// broadcast (Ethernet and IP) from host:67 to 68; options in libslirp's order (53, 54, 1, 3, 6,
/// 51, 12, 15, 66, 119), router and DNS omitted under restrict=on; a plain BOOTP request gets an
/// ACK; a REQUEST without option 50 is served from ciaddr or from the client's slot, or a new
/// slot ("windows fix"); a REQUEST for an address it cannot give gets a NAK with libslirp's text.
/// Beyond libslirp: RELEASE frees the slot, INFORM gets an ACK without address or lease time,
/// a REQUEST naming another server is ignored (RFC 2131 §4.3.2), leases expire after the
/// lease time and unconfirmed offers after <see cref="OfferTimeout"/>, but a slot is reclaimed
/// only when the pool is full and a new client needs one.
/// </summary>
public sealed class DhcpServer
{
    /// <summary>bootp_t's vendor area in libslirp (DHCP_OPT_LEN).</summary>
    public const int VendorAreaLength = 312;

    /// <summary>Every reply's UDP payload length: 236 fixed + 312 vendor bytes.</summary>
    public const int ReplyLength = DhcpMessage.FixedLength + VendorAreaLength;

    /// <summary>Frame length of every reply (Ethernet + IPv4 + UDP + 548).</summary>
    public const int ReplyFrameLength = UdpFrame.PayloadOffset + ReplyLength;

    /// <summary>A NAK's message option, libslirp's text (a literal: a NAK allocates nothing).</summary>
    private static ReadOnlySpan<byte> NakMessage => "requested address not available"u8;

    /// <summary>
    /// How long an OFFER holds its address for a client that has not confirmed it with a REQUEST
    /// (beyond libslirp, which holds it for the whole lease time: 16 DISCOVERs from made-up MACs
    /// would lock every other guest out for 24 hours). Real clients REQUEST within milliseconds to
    /// a few seconds of the offer; RFC 2131 retransmits for about a minute.
    /// </summary>
    public static readonly TimeSpan OfferTimeout = TimeSpan.FromSeconds(60);

    private readonly UserNetConfig _config;
    private readonly TimeProvider _time;
    private readonly ArpTable? _arp;
    private readonly bool[] _allocated;
    private readonly MacAddress[] _macs;
    private readonly DateTimeOffset[] _expires;
    private readonly bool[] _confirmed;
    private readonly byte[] _dnsSearch;
    private readonly byte[] _bootFile;
    private ushort _ipId;

    public DhcpServer(UserNetConfig config, TimeProvider? time = null, ArpTable? arpTable = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _time = time ?? TimeProvider.System;
        _arp = arpTable;
        _allocated = new bool[UserNetConfig.DhcpPoolSize];
        _macs = new MacAddress[UserNetConfig.DhcpPoolSize];
        _expires = new DateTimeOffset[UserNetConfig.DhcpPoolSize];
        _confirmed = new bool[UserNetConfig.DhcpPoolSize];
        _dnsSearch = config.DnsSearch.Count > 0 ? DnsSearchEncoder.Encode(config.DnsSearch) : [];
        _bootFile = config.BootFile is null ? [] : Encoding.UTF8.GetBytes(config.BootFile);
    }

    /// <summary>Requests dropped: not a BOOTREQUEST, too short, a type we do not answer, or pool exhausted.</summary>
    public long Dropped { get; private set; }

    public MacAddress ServerMac => VirtualMac.For(_config.Host);

    /// <summary>The address leased to <paramref name="mac"/>, if any.</summary>
    public bool TryGetLease(MacAddress mac, out DhcpLease lease)
    {
        for (var i = 0; i < _allocated.Length; i++)
        {
            if (_allocated[i] && _macs[i] == mac)
            {
                lease = new DhcpLease(SlotAddress(i), mac, _expires[i]);
                return true;
            }
        }

        lease = default;
        return false;
    }

    /// <summary>Adds the confirmed leases that have not ended (query-usernet), in address order.</summary>
    public void CopyLeases(List<DhcpLease> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        var now = _time.GetUtcNow();
        for (var i = 0; i < _allocated.Length; i++)
        {
            if (_allocated[i] && _confirmed[i] && _expires[i] > now)
            {
                into.Add(new DhcpLease(SlotAddress(i), _macs[i], _expires[i]));
            }
        }
    }

    /// <summary>
    /// Handles the UDP payload of a datagram to port 67. Writes the whole reply frame (Ethernet,
    /// IPv4, UDP and BOOTP) into <paramref name="replyFrame"/> (at least
    /// <see cref="ReplyFrameLength"/> bytes) and returns its length, or 0 for no reply.
    /// </summary>
    public int Handle(ReadOnlySpan<byte> request, Span<byte> replyFrame)
    {
        if (request.Length < DhcpMessage.FixedLength || request[0] != DhcpMessage.OpRequest || replyFrame.Length < ReplyFrameLength)
        {
            Dropped++;
            return 0;
        }

        // DhcpMessage views a Span<byte>; the request is read-only, so copy the bounded header
        // plus options into a stack buffer (576 is the RFC 2131 minimum a client may send more than).
        Span<byte> copy = stackalloc byte[Math.Min(request.Length, 1500)];
        request[..copy.Length].CopyTo(copy);
        _ = DhcpMessage.TryCreate(copy, out var req);
        Decode(req, out var type, out var requested, out var serverId);

        if (type == DhcpMessageType.None)
        {
            type = DhcpMessageType.Request; // libslirp: force a reply for old BOOTP clients.
        }

        var mac = req.ClientHardwareAddress;
        switch (type)
        {
            case DhcpMessageType.Release:
                Release(mac, req.ClientAddress);
                return 0;
            case DhcpMessageType.Inform:
                return WriteReply(replyFrame, req, DhcpMessageType.Ack, Ipv4Address.Any, inform: true);
            case DhcpMessageType.Discover:
                return Discover(replyFrame, req, mac, requested);
            case DhcpMessageType.Request:
                if (serverId is { } sid && sid != _config.Host)
                {
                    return 0; // The client chose another server's offer.
                }

                return Request(replyFrame, req, mac, requested);
            default:
                Dropped++;
                return 0;
        }
    }

    private int Discover(Span<byte> replyFrame, DhcpMessage req, MacAddress mac, Ipv4Address requested)
    {
        var slot = -1;
        if (!requested.IsAny)
        {
            slot = RequestSlot(requested, mac);
        }

        if (slot < 0)
        {
            slot = NewSlot(mac);
            if (slot < 0)
            {
                Dropped++;
                return 0; // "no address left": libslirp stays silent.
            }
        }

        return Grant(replyFrame, req, mac, slot, DhcpMessageType.Offer);
    }

    private int Request(Span<byte> replyFrame, DhcpMessage req, MacAddress mac, Ipv4Address requested)
    {
        int slot;
        if (!requested.IsAny)
        {
            slot = RequestSlot(requested, mac);
            if (slot < 0)
            {
                return WriteReply(replyFrame, req, DhcpMessageType.Nak, Ipv4Address.Any, inform: false);
            }
        }
        else
        {
            slot = FindSlot(mac);
            if (slot < 0)
            {
                slot = NewSlot(mac); // never assigned: act as if it were (guests that remember an address).
                if (slot < 0)
                {
                    Dropped++;
                    return 0;
                }
            }
        }

        return Grant(replyFrame, req, mac, slot, DhcpMessageType.Ack);
    }

    private int Grant(Span<byte> replyFrame, DhcpMessage req, MacAddress mac, int slot, DhcpMessageType type)
    {
        var now = _time.GetUtcNow();
        if (type == DhcpMessageType.Ack)
        {
            _confirmed[slot] = true;
            _expires[slot] = now.AddSeconds(UserNetConfig.DhcpLeaseSeconds);
        }
        else if (!(_allocated[slot] && _macs[slot] == mac && _confirmed[slot]))
        {
            // An offer holds the slot only briefly until the client confirms it; a client's
            // DISCOVER while it holds a confirmed lease keeps that lease as it is.
            _confirmed[slot] = false;
            _expires[slot] = now + OfferTimeout;
        }

        _allocated[slot] = true;
        _macs[slot] = mac;
        var address = SlotAddress(slot);
        _arp?.Add(address, mac);
        return WriteReply(replyFrame, req, type, address, inform: false);
    }

    private void Release(MacAddress mac, Ipv4Address clientAddress)
    {
        var slot = FindSlot(mac);
        if (slot >= 0 && (clientAddress.IsAny || SlotAddress(slot) == clientAddress))
        {
            _allocated[slot] = false;
            _confirmed[slot] = false;
            _macs[slot] = default;
        }
    }

    private int WriteReply(Span<byte> frame, DhcpMessage req, DhcpMessageType type, Ipv4Address yiaddr, bool inform)
    {
        var payload = UdpFrame.Payload(frame)[..ReplyLength];
        payload.Clear();
        var m = DhcpMessage.CreateUnchecked(payload);
        m.MagicCookie = DhcpMessage.MagicCookieValue;
        m.Op = DhcpMessage.OpReply;
        m.HardwareType = 1;
        m.HardwareLength = 6;
        m.TransactionId = req.TransactionId;
        req.ClientHardwareField[..6].CopyTo(m.ClientHardwareField);
        m.YourAddress = yiaddr;
        m.ServerAddress = _config.Host;
        if (inform)
        {
            m.ClientAddress = req.ClientAddress;
        }

        // One byte is kept for End by the writer, as libslirp asserts q < end.
        var w = new DhcpOptionWriter(payload[DhcpMessage.OptionsOffset..]);
        w.WriteByte(DhcpOption.MessageType, (byte)type);
        if (type == DhcpMessageType.Nak)
        {
            w.Write(DhcpOption.Message, NakMessage);
        }
        else
        {
            if (_bootFile.Length > 0)
            {
                // snprintf into the 128-byte field: at most 127 bytes and a NUL.
                _bootFile.AsSpan(0, Math.Min(_bootFile.Length, 127)).CopyTo(m.BootFile);
            }

            w.WriteAddress(DhcpOption.ServerIdentifier, _config.Host);
            w.WriteAddress(DhcpOption.SubnetMask, _config.Netmask);
            if (!_config.Restrict)
            {
                w.WriteAddress(DhcpOption.Router, _config.Host);
                w.WriteAddress(DhcpOption.DomainNameServer, _config.Dns);
            }

            if (!inform)
            {
                w.WriteUInt32(DhcpOption.LeaseTime, UserNetConfig.DhcpLeaseSeconds);
            }

            // Only when set (passt's --mtu): QEMU's user netdev sends no MTU.
            if (_config.Mtu is { } mtu)
            {
                w.WriteUInt16(DhcpOption.InterfaceMtu, (ushort)mtu);
            }

            if (!string.IsNullOrEmpty(_config.Hostname))
            {
                w.WriteString(DhcpOption.HostName, _config.Hostname);
            }

            if (_config.DomainName is { } domain)
            {
                w.WriteString(DhcpOption.DomainName, domain);
            }

            if (_config.TftpServerName is { } tftpName)
            {
                w.WriteString(DhcpOption.TftpServerName, tftpName);
            }

            WriteDnsSearch(ref w);
        }

        w.WriteEnd();
        return UdpFrame.Finish(
            frame,
            MacAddress.Broadcast,
            ServerMac,
            _config.Host,
            DhcpMessage.ServerPort,
            Ipv4Address.Broadcast,
            DhcpMessage.ClientPort,
            ReplyLength,
            _ipId++);
    }

    /// <summary>The pre-encoded 119 options go in whole or not at all (libslirp omits them when they do not fit).</summary>
    private void WriteDnsSearch(ref DhcpOptionWriter w)
    {
        if (_dnsSearch.Length == 0 || w.Length + _dnsSearch.Length + 1 > VendorAreaLength - 4)
        {
            return;
        }

        var rest = _dnsSearch.AsSpan();
        while (rest.Length > 0)
        {
            int len = rest[1];
            w.Write(DhcpOption.DomainSearch, rest.Slice(2, len));
            rest = rest[(2 + len)..];
        }
    }

    /// <summary>libslirp's dhcp_decode: type, requested address (50, else ciaddr for REQUEST), plus server id.</summary>
    private static void Decode(DhcpMessage req, out DhcpMessageType type, out Ipv4Address requested, out Ipv4Address? serverId)
    {
        type = DhcpMessageType.None;
        requested = Ipv4Address.Any;
        serverId = null;
        var r = req.ReadOptions();
        while (r.MoveNext())
        {
            switch (r.Code)
            {
                case DhcpOption.MessageType when r.Data.Length >= 1:
                    type = (DhcpMessageType)r.Data[0];
                    break;
                case DhcpOption.RequestedIpAddress when r.Data.Length >= 4:
                    requested = Ipv4Address.Read(r.Data);
                    break;
                case DhcpOption.ServerIdentifier when r.Data.Length >= 4:
                    serverId = Ipv4Address.Read(r.Data);
                    break;
                default:
                    break;
            }
        }

        if (type == DhcpMessageType.Request && requested.IsAny && !req.ClientAddress.IsAny)
        {
            requested = req.ClientAddress;
        }
    }

    private Ipv4Address SlotAddress(int slot) => new(_config.DhcpStart.Value + (uint)slot);

    /// <summary>libslirp's request_addr: the slot of a pool address, if free or already this MAC's.</summary>
    private int RequestSlot(Ipv4Address address, MacAddress mac)
    {
        var index = (long)address.Value - _config.DhcpStart.Value;
        if (index < 0 || index >= _allocated.Length)
        {
            return -1;
        }

        var i = (int)index;
        return !_allocated[i] || _macs[i] == mac || Expired(i) ? i : -1;
    }

    /// <summary>libslirp's find_addr: the slot this MAC already has.</summary>
    private int FindSlot(MacAddress mac)
    {
        for (var i = 0; i < _allocated.Length; i++)
        {
            if (_allocated[i] && _macs[i] == mac)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// libslirp's get_new_addr: the first free slot or this MAC's; then an expired one, an
    /// unconfirmed offer before a lapsed lease (the guest that lost a lease may come back).
    /// </summary>
    private int NewSlot(MacAddress mac)
    {
        for (var i = 0; i < _allocated.Length; i++)
        {
            if (!_allocated[i] || _macs[i] == mac)
            {
                return i;
            }
        }

        for (var i = 0; i < _allocated.Length; i++)
        {
            if (!_confirmed[i] && Expired(i))
            {
                return i;
            }
        }

        for (var i = 0; i < _allocated.Length; i++)
        {
            if (Expired(i))
            {
                return i;
            }
        }

        return -1;
    }

    private bool Expired(int slot) => _allocated[slot] && _expires[slot] <= _time.GetUtcNow();
}
