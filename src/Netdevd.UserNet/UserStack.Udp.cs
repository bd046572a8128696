using Netdevd.Native;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Services;
using Netdevd.UserNet.Services.Dns;
using Netdevd.UserNet.Services.Tftp;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>UDP: the built-in services (DHCP, TFTP, DNS) first, then NAT flows through host sockets.</summary>
public sealed partial class UserStack
{
    private const ushort DhcpServerPort = 67;
    private const ushort TftpPort = 69;
    private const ushort DnsPort = 53;
    private readonly FlowTable<(Ipv4Address, ushort), UdpFlow> _udp = new(16);

    public int UdpFlowCount => _udp.Count;

    /// <summary>
    /// Every UDP flow the netdev holds a host socket for, both families and the forwards': what
    /// <see cref="NatLimits.MaxUdpFlows"/> bounds.
    /// </summary>
    private int AllUdpFlows => _udp.Count + _udp6.Count + _udpForwards.Count;

    /// <summary>
    /// Room for a new flow of the guest's (either family): when all UDP flows are taken, the
    /// guest's flow idle longest is closed (counted) rather than the new one dropped, as a NAT
    /// does; the forwards' clients keep theirs (they are bounded by their own share). False
    /// (counted) only when the guest holds no flow to close.
    /// </summary>
    private bool MakeRoomForGuestUdpFlow()
    {
        if (AllUdpFlows < _options.Limits.MaxUdpFlows)
        {
            return true;
        }

        var has4 = _udp.TryGetNextDue(out var key4, out var flow4);
        var has6 = _udp6.TryGetNextDue(out var key6, out var flow6);
        if (has4 && (!has6 || flow4!.ExpiresAt <= flow6!.ExpiresAt))
        {
            _udp.Remove(key4, out _);
            _host?.CloseUdp(flow4!);
        }
        else if (has6)
        {
            _udp6.Remove(key6, out _);
            _host?.CloseUdp(flow6!);
        }
        else
        {
            Counters.Drop(FrameDropReason.UdpFlowLimit);
            return false;
        }

        Counters.Drop(FrameDropReason.UdpFlowEvicted);
        return true;
    }

    private void InputUdp(Ipv4Packet ip, MacAddress guestMac)
    {
        if (!UdpPacket.TryCreate(ip.Payload, out var udp))
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        var source = ip.Source;
        var destination = ip.Destination;
        if (!_inputChecksumVerified && !udp.VerifyChecksum(source, destination))
        {
            Counters.Drop(FrameDropReason.BadChecksum);
            return;
        }

        var port = udp.DestinationPort;
        if (port == DhcpServerPort && (destination.IsBroadcast || destination == _options.Host))
        {
            InputDhcp(udp.Payload);
            return;
        }

        if (destination == _options.Host && port == TftpPort && _tftp is not null)
        {
            InputTftp(source, udp.SourcePort, udp.Payload);
            return;
        }

        if (destination == _options.Dns && port == DnsPort && !_options.Restrict && Dns is not null)
        {
            InputDns(source, udp.SourcePort, udp.Payload);
            return;
        }

        if (TryUdpForwardReply(source, udp.SourcePort, destination, port, udp.Payload))
        {
            return;
        }

        if (_options.Restrict)
        {
            Counters.Drop(FrameDropReason.Restricted);
            return;
        }

        if (MapToHost(destination) is not { } hostDestination)
        {
            Counters.Drop(FrameDropReason.NotForUs);
            return;
        }

        if (!TryTakeHop(ip, hostDestination, out var ttl))
        {
            return;
        }

        var now = NowMs;
        var key = (source, udp.SourcePort);
        if (!_udp.TryGet(key, out var flow))
        {
            if (!MakeRoomForGuestUdpFlow())
            {
                return;
            }

            flow = new UdpFlow(source, udp.SourcePort);
            if (Host.OpenUdp(flow) is not 0 and var refused)
            {
                // A host without the family (IPv4 off) has no network to send it to: said at once,
                // as an unroutable destination is; anything else (no descriptors) is a loss, as
                // libslirp's udp_input drops it.
                Counters.Drop(FrameDropReason.HostSocketFailed);
                if (refused == Errno.EAFNOSUPPORT)
                {
                    SendIcmpError(ip, IcmpPacket.TypeDestinationUnreachable, IcmpPacket.CodeNetUnreachable);
                }

                return;
            }

            _udp.Add(key, flow);
            Counters.UdpFlowsOpened++;
        }

        flow.ExpiresAt = now + (port == DnsPort ? _options.Limits.UdpDnsIdleTimeoutMs : _options.Limits.UdpIdleTimeoutMs);
        flow.LastActivityMs = now;
        NoteDeadline(flow.ExpiresAt);
        if (hostDestination.IsLoopback)
        {
            flow.LoopbackSeenAs = destination;
        }

        if (!Host.SendUdp(flow, hostDestination, port, udp.Payload, ttl))
        {
            // libslirp's udp_input answers a failed sendto with a network unreachable (icmp_send_error).
            Counters.Drop(FrameDropReason.HostSocketFailed);
            SendIcmpError(ip, IcmpPacket.TypeDestinationUnreachable, IcmpPacket.CodeNetUnreachable);
        }
    }

    private void InputDhcp(ReadOnlySpan<byte> request)
    {
        if (_dhcp is null)
        {
            return;
        }

        if (request.Length < DhcpMessage.FixedLength)
        {
            // Shorter than a BOOTP header (libslirp's CVE-2021-3592 class).
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        var frame = _sink.Allocate(DhcpServer.ReplyFrameLength);
        if (frame.Length < DhcpServer.ReplyFrameLength)
        {
            Counters.Drop(FrameDropReason.OutputFull);
            return;
        }

        var n = _dhcp.Handle(request, frame);
        if (n > 0)
        {
            Commit(frame, n);
        }
    }

    private void InputTftp(Ipv4Address client, ushort clientPort, ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < TftpPacket.HeaderLength)
        {
            // No opcode and block/argument (libslirp's CVE-2021-3595 class).
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        var frame = _sink.Allocate(UdpFrame.PayloadOffset + _tftp!.MaxReplyLength);
        if (frame.Length < UdpFrame.PayloadOffset + _tftp.MaxReplyLength)
        {
            Counters.Drop(FrameDropReason.OutputFull);
            return;
        }

        var n = _tftp.Handle(new TftpClientEndpoint(client, clientPort), datagram, UdpFrame.Payload(frame));
        if (n > 0)
        {
            FinishUdp(frame, _options.Host, TftpPort, client, clientPort, n);
        }
    }

    private void InputDns(Ipv4Address client, ushort clientPort, ReadOnlySpan<byte> query)
    {
        var room = Dns!.MaxReplyLength(query.Length);
        var frame = _sink.Allocate(Math.Max(UdpFrame.PayloadOffset + room, EthernetFrame.MinimumLength));
        if (frame.Length < UdpFrame.PayloadOffset + room)
        {
            Counters.Drop(FrameDropReason.OutputFull);
            return;
        }

        var n = Dns.HandleQuery(new DnsGuestEndpoint(client, clientPort), query, UdpFrame.Payload(frame));
        if (n > 0)
        {
            FinishUdp(frame, _options.Dns, DnsPort, client, clientPort, n);
        }
    }

    /// <summary>A datagram arrived on a flow's host socket from <paramref name="from"/>:<paramref name="fromPort"/>.</summary>
    internal void OnUdpReceived(UdpFlow flow, Ipv4Address from, ushort fromPort, ReadOnlySpan<byte> payload)
    {
        flow.ExpiresAt = NowMs + (fromPort == DnsPort ? _options.Limits.UdpDnsIdleTimeoutMs : _options.Limits.UdpIdleTimeoutMs);
        flow.LastActivityMs = NowMs;
        NoteDeadline(flow.ExpiresAt);
        SendUdpToGuest(SeenByGuest(flow, from), fromPort, flow.GuestAddress, flow.GuestPort, payload);
    }

    /// <summary>An answer from an upstream resolver for the DNS proxy.</summary>
    internal void OnDnsAnswer(System.Net.IPEndPoint from, Span<byte> answer)
    {
        if (Dns is not null && Dns.HandleAnswer(from, answer, out var guest))
        {
            if (guest.IsIpv6)
            {
                SendUdp6(_options.Ipv6Dns, DnsPort, guest.Address6, guest.Port, answer);
                return;
            }

            SendUdpToGuest(_options.Dns, DnsPort, guest.Address, guest.Port, answer);
        }
    }

    /// <summary>
    /// An ICMP error came back for a datagram the DNS proxy sent to <paramref name="resolver"/>
    /// (<paramref name="sent"/>: its start): the query it names goes on to its next attempt now,
    /// or, after its last, gets its SERVFAIL.
    /// </summary>
    internal void OnDnsUnreachable(System.Net.IPEndPoint resolver, ReadOnlySpan<byte> sent)
    {
        if (Dns is not null)
        {
            Dns.HandleUnreachable(resolver, sent);
            SendDnsFailures(Dns);
        }
    }

    /// <summary>
    /// SERVFAIL for each query no resolver answered, from the DNS address the guest asked (IPv4
    /// or IPv6), as many as the sink takes; the rest on the next pass.
    /// </summary>
    private void SendDnsFailures(DnsForwarder dns)
    {
        // Room for the longer frame (IPv6's headers) before a failure is taken: one taken must go.
        const int room = Ipv6Headers + UdpPacket.HeaderLength + DnsForwarder.MaxFailureLength;
        Span<byte> reply = stackalloc byte[DnsForwarder.MaxFailureLength];
        while (dns.PendingCount > 0 && _sink.Allocate(room).Length >= room)
        {
            var n = dns.TakeFailure(reply, out var guest);
            if (n == 0)
            {
                return;
            }

            if (guest.IsIpv6)
            {
                SendUdp6(_options.Ipv6Dns, DnsPort, guest.Address6, guest.Port, reply[..n]);
            }
            else
            {
                SendUdpToGuest(_options.Dns, DnsPort, guest.Address, guest.Port, reply[..n]);
            }
        }
    }

    private void SendUdpToGuest(Ipv4Address source, ushort sourcePort, Ipv4Address guest, ushort guestPort, ReadOnlySpan<byte> payload)
    {
        var frame = _sink.Allocate(Math.Max(UdpFrame.PayloadOffset + payload.Length, EthernetFrame.MinimumLength));
        if (frame.Length < UdpFrame.PayloadOffset + payload.Length)
        {
            Counters.Drop(FrameDropReason.OutputFull);
            return;
        }

        payload.CopyTo(UdpFrame.Payload(frame));
        FinishUdp(frame, source, sourcePort, guest, guestPort, payload.Length);
    }

    private void FinishUdp(Span<byte> frame, Ipv4Address source, ushort sourcePort, Ipv4Address destination, ushort destinationPort, int payloadLength)
    {
        // Every caller allocated at least 60 bytes, so padding always fits.
        var n = UdpFrame.Finish(frame, GuestMac(destination), _ourMac, source, sourcePort, destination, destinationPort, payloadLength, _ipId++);
        Commit(frame, n);
    }

    private void ExpireUdp(long now)
    {
        var due = _udp.CollectDue(now, out var next);
        foreach (var key in due)
        {
            if (_udp.Remove(key, out var flow))
            {
                _host?.CloseUdp(flow);
            }
        }

        NoteDeadline(next);
        ExpireUdp6(now);
    }

    private void PollServices()
    {
        if (Dns is not null)
        {
            Dns.Poll();
            SendDnsFailures(Dns);
        }

        if (_tftp is null || _tftp.SessionCount == 0)
        {
            return;
        }

        while (true)
        {
            var frame = _sink.Allocate(UdpFrame.PayloadOffset + _tftp.MaxReplyLength);
            if (frame.Length < UdpFrame.PayloadOffset + _tftp.MaxReplyLength)
            {
                return;
            }

            var n = _tftp.Poll(UdpFrame.Payload(frame), out var client);
            if (n == 0)
            {
                return;
            }

            FinishUdp(frame, _options.Host, TftpPort, client.Address, client.Port, n);
        }
    }
}
