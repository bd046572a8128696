using Netdevd.Core.Clients;
using System.Runtime.InteropServices;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Services;
using Netdevd.UserNet.Services.Dns;
using Netdevd.UserNet.Services.Tftp;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// The user-mode IPv4 and IPv6 stack (libslirp's role): Ethernet frames from the guest in, frames for the
/// guest out through an <see cref="IFrameSink"/>, host sockets behind <see cref="INatHost"/>.
/// Sans-IO and single-threaded: the owner serialises every call (the user netdev holds one lock)
/// and supplies the clock; nothing here blocks or touches a socket.
/// </summary>
/// <remarks>
/// Partial files by concern: this one (Ethernet, ARP, IPv4 dispatch, frame emission), TCP, UDP
/// (with DHCP, TFTP and DNS), ICMP, timers, host forwards; IPv6 (dispatch and emission), NDP,
/// ICMPv6, UDP over IPv6 (DHCPv6) and the IPv6 NAT seams.
/// </remarks>
public sealed partial class UserStack : IDisposable
{
    /// <summary>
    /// The guest link's default MTU for datagrams the stack originates (slirp's IF_MTU_DEFAULT;
    /// QEMU's user netdev has no option for it, netdevd's <c>mtu</c> changes it): longer non-TCP
    /// IPv4 datagrams go out fragmented.
    /// </summary>
    public const int GuestLinkMtu = 1500;

    private readonly UserStackOptions _options;
    private readonly IFrameSink _sink;

    // The same sink when it takes frames in pieces (TCP payloads left in their send ring), else null.
    private readonly IGatherFrameSink? _gatherSink;
    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private readonly ArpTable _arp;
    private readonly ArpResponder _arpResponder;
    private readonly DhcpServer? _dhcp;
    private readonly TftpServer? _tftp;
    private readonly MacAddress _ourMac;
    private readonly FragmentReassembler _fragments;
    private readonly Ipv4Fragmenter _fragmenter = new();
    private INatHost? _host;
    private ushort _ipId;
    private volatile bool _checksumOffload;

    /// <summary>Set while <see cref="Input"/> handles a frame whose L4 checksum the sender vouched for.</summary>
    private bool _inputChecksumVerified;
    private Ipv4Address _lastGuestIp;
    private MacAddress _lastGuestMac = MacAddress.Broadcast;

    public UserStack(UserStackOptions options, IFrameSink sink, TimeProvider? time = null, DhcpServer? dhcp = null, TftpServer? tftp = null, ArpTable? arpTable = null,
        MemoryBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        _options = options;
        _sink = sink;
        _gatherSink = sink as IGatherFrameSink;
        _time = time ?? TimeProvider.System;
        _startTimestamp = _time.GetTimestamp();
        _arp = arpTable ?? new ArpTable(options.Network, options.Netmask);
        _arpResponder = new ArpResponder(options.Network, options.Netmask, _arp, options.Host, options.Dns);
        foreach (var rule in options.GuestForwards)
        {
            _arpResponder.AddVirtualAddress(rule.Server);
        }

        _dhcp = dhcp;
        _tftp = tftp;
        _ourMac = VirtualMac.For(options.Host);
        _tcp = new FlowTable<TcpFlowAddress, TcpConnection>(64);
        _tcpOutput = new TcpOutput(this);
        Budget = budget ?? new MemoryBudget(options.Limits.MemoryLimit);
        _fragments = new FragmentReassembler(options.Limits.MaxFragmentedDatagrams, options.Limits.FragmentTimeoutMs, Counters, Budget);
        InitNdp();
    }

    public UserStackOptions Options => _options;

    public StackCounters Counters { get; } = new();

    /// <summary>The bytes this netdev may hold for its guest (flow buffers, reassembly, queued output).</summary>
    public MemoryBudget Budget { get; }

    /// <summary>The DNS proxy at the virtual DNS address (set by the owner once its upstream socket exists).</summary>
    public DnsForwarder? Dns { get; set; }

    /// <summary>Milliseconds on the stack's clock.</summary>
    public long NowMs => (long)_time.GetElapsedTime(_startTimestamp).TotalMilliseconds;

    internal void AttachHost(INatHost host) => _host = host;

    private INatHost Host => _host ?? throw new InvalidOperationException("no host side attached");

    /// <summary>
    /// Whether TCP segments to the guest leave their checksum to the receiver (the sink's
    /// <see cref="IFrameSink.CommitPartialChecksum"/>): on while the link carries virtio-net headers.
    /// </summary>
    public bool ChecksumOffload
    {
        get => _checksumOffload;
        set => _checksumOffload = value;
    }

    /// <summary>What a guest's frame and its answer touch in the stack: the stack, its counters and options, the guest's link tables.</summary>
    public void CollectHot(HotObjects hot)
    {
        ArgumentNullException.ThrowIfNull(hot);
        hot.Add(this);
        hot.Add(Counters);
        hot.Add(_options);
        _arp.CollectHot(hot);
        _arpResponder.CollectHot(hot);
    }

    /// <summary>Takes one Ethernet frame from the guest.</summary>
    public void Input(ReadOnlySpan<byte> frame) => Input(frame, checksumVerified: false);

    /// <summary>
    /// Takes one Ethernet frame from the guest; <paramref name="checksumVerified"/>: its TCP, UDP or
    /// ICMP checksum is not to be checked (virtio-net's NEEDS_CSUM or DATA_VALID: never computed by
    /// a sender that left it to its device, or already verified). The IPv4 header checksum is still checked.
    /// </summary>
    public void Input(ReadOnlySpan<byte> frame, bool checksumVerified)
    {
        _inputChecksumVerified = checksumVerified;
        try
        {
            InputFrame(frame);
        }
        finally
        {
            _inputChecksumVerified = false;
        }
    }

    private void InputFrame(ReadOnlySpan<byte> frame)
    {
        Counters.FramesIn++;

        // The wire views take Span<byte> because they also serve emission; guest input is only
        // read through them, never written, so viewing the caller's read-only frame is safe.
        var bytes = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(frame), frame.Length);
        if (!EthernetFrame.TryCreate(bytes, out var eth))
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        switch (eth.EtherType)
        {
            case EtherType.Arp:
                InputArp(bytes);
                break;
            case EtherType.Ipv4:
                InputIpv4(eth);
                break;
            case EtherType.Ipv6:
                InputIpv6(eth);
                break;
            default:
                Counters.Drop(FrameDropReason.UnsupportedEtherType);
                break;
        }
    }

    private void InputArp(Span<byte> frame)
    {
        if (!EthernetFrame.TryCreate(frame, out var eth) || !ArpPacket.TryCreate(eth.Payload, out _))
        {
            // Shorter than an ARP packet (libslirp's CVE-2020-29130 class): nothing to read.
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        var reply = _sink.Allocate(ArpResponder.ReplyLength);
        if (reply.Length < ArpResponder.ReplyLength)
        {
            Counters.Drop(FrameDropReason.OutputFull);
            return;
        }

        var n = _arpResponder.Handle(frame, reply);
        if (n > 0)
        {
            Commit(reply, n);
        }
    }

    private void InputIpv4(EthernetFrame eth)
    {
        if (!Ipv4Packet.TryCreate(eth.Payload, out var ip))
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        if (!ip.VerifyChecksum())
        {
            Counters.Drop(FrameDropReason.BadChecksum);
            return;
        }

        var source = ip.Source;
        if (source.IsBroadcast || source.IsMulticast || (InNetwork(source) && (source.Value | _options.Netmask.Value) == 0xFFFF_FFFF))
        {
            // RFC 1122 3.2.1.3: a broadcast or multicast source MUST be discarded (IPv6 drops a
            // multicast one too). Taken, its answers (an echo reply, DNS, a NAT flow's datagrams)
            // went to that address: to every node on the link.
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        if (source != _lastGuestIp || eth.Source != _lastGuestMac)
        {
            // Learn the guest's MAC from its traffic (libslirp learns only from ARP and DHCP, and
            // then has to ARP before it can answer; this saves that round trip).
            _arp.Add(source, eth.Source);
            if (source.IsInNetwork(_options.Network, _options.Netmask))
            {
                _lastGuestIp = source;
                _lastGuestMac = eth.Source;
            }
        }

        if (ip.IsFragment)
        {
            var result = _fragments.Add(ip, NowMs, out var whole);
            if (result != FragmentResult.Complete)
            {
                CountIncompleteFragment(result);
                return;
            }

            if (!Ipv4Packet.TryCreate(whole, out ip))
            {
                Counters.Drop(FrameDropReason.Malformed);
                return;
            }
        }

        switch (ip.Protocol)
        {
            case IpProtocol.Tcp:
                InputTcp(ip);
                break;
            case IpProtocol.Udp:
                InputUdp(ip, eth.Source);
                break;
            case IpProtocol.Icmp:
                InputIcmp(ip);
                break;
            default:
                Counters.Drop(FrameDropReason.UnsupportedProtocol);
                break;
        }
    }

    /// <summary>
    /// A fragment (IPv4 or IPv6) that did not complete its datagram: still pending is no drop;
    /// refused for memory or by the reassembler's bounds is counted.
    /// </summary>
    private void CountIncompleteFragment(FragmentResult result)
    {
        if (result == FragmentResult.NoMemory)
        {
            Counters.Drop(FrameDropReason.MemoryLimit);
        }
        else if (result != FragmentResult.Pending)
        {
            Counters.Drop(FrameDropReason.Fragment);
        }
    }

    /// <summary>Whether an address is one of ours inside the virtual network (host, DNS, a guestfwd server).</summary>
    private bool IsVirtualAddress(Ipv4Address address) => _arpResponder.IsVirtualAddress(address);

    private bool InNetwork(Ipv4Address address) => address.IsInNetwork(_options.Network, _options.Netmask);

    /// <summary>The host address a foreign (guest-visible) address stands for; null when it leads nowhere.</summary>
    private Ipv4Address? MapToHost(Ipv4Address foreign)
    {
        if (foreign == _options.Host)
        {
            return _options.HostLoopback ? Ipv4Address.Loopback : null;
        }

        if (foreign == _options.HostAlias)
        {
            return Ipv4Address.Loopback;
        }

        if (InNetwork(foreign) || foreign.IsBroadcast || foreign.IsMulticast || foreign.IsAny)
        {
            return null;
        }

        return foreign;
    }

    /// <summary>The guest-visible address of a host address replies come from (loopback is the virtual host).</summary>
    private Ipv4Address MapFromHost(Ipv4Address host) => host.IsLoopback ? _options.Host : host;

    private MacAddress GuestMac(Ipv4Address guest)
    {
        if (_arp.TryLookup(guest, out var mac))
        {
            return mac;
        }

        if (guest == _lastGuestIp)
        {
            return _lastGuestMac;
        }

        // Unknown guest (it has not spoken yet, e.g. a host forward right after start): broadcast
        // this frame and ask by ARP at the next poll, so the retransmission finds it (Linux drops
        // TCP in frames not addressed to its own MAC).
        _arpMiss = guest;
        return MacAddress.Broadcast;
    }

    private Ipv4Address? _arpMiss;
    private long _lastArpRequestMs = -1_000_000;
    private const long ArpRequestIntervalMs = 100;

    /// <summary>Where the checksum sits in a TCP header (virtio-net's csum_offset).</summary>
    private const int TcpChecksumOffset = 16;

    /// <summary>Sends the ARP request a miss asked for, at most one per 100 ms.</summary>
    private void ResolveArpMiss(long now)
    {
        if (_arpMiss is not { } target || now - _lastArpRequestMs < ArpRequestIntervalMs)
        {
            return;
        }

        _arpMiss = null;
        _lastArpRequestMs = now;
        var frame = _sink.Allocate(EthernetFrame.MinimumLength);
        if (frame.Length < EthernetFrame.MinimumLength)
        {
            return;
        }

        var n = EthernetFrame.WriteHeader(frame, MacAddress.Broadcast, _ourMac, EtherType.Arp);
        n += ArpPacket.Write(frame[n..], ArpPacket.OperationRequest, _ourMac, _options.Host, MacAddress.Zero, target);
        Commit(frame, n);
    }

    /// <summary>
    /// Starts an IPv4 frame to the guest: returns the L4 area (of <paramref name="l4Length"/> bytes)
    /// inside a sink buffer, with Ethernet and IPv4 headers written; empty when the sink is full.
    /// Finish with <see cref="Commit"/> of the returned frame.
    /// </summary>
    /// <param name="allocateL4">How much of the L4 part to allocate and return (-1: all of it; less when the rest follows the frame in pieces).</param>
    private Span<byte> BeginIpv4(Ipv4Address source, Ipv4Address destination, byte protocol, int l4Length, out Span<byte> frame, int allocateL4 = -1, byte ttl = 64)
    {
        const int headers = EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength;
        var l4Allocated = allocateL4 < 0 ? l4Length : allocateL4;
        frame = _sink.Allocate(Math.Max(headers + l4Allocated, EthernetFrame.MinimumLength));
        if (frame.Length < headers + l4Allocated)
        {
            Counters.Drop(FrameDropReason.OutputFull);
            return default;
        }

        EthernetFrame.WriteHeader(frame, GuestMac(destination), _ourMac, EtherType.Ipv4);
        Ipv4Packet.WriteHeader(frame[EthernetFrame.HeaderLength..], source, destination, protocol, l4Length, _ipId++, ttl, dontFragment: true);
        frame = frame[..Math.Max(headers + l4Allocated, EthernetFrame.MinimumLength)];
        return frame.Slice(headers, l4Allocated);
    }

    /// <summary>
    /// Pads to the Ethernet minimum of 60 bytes (as QEMU does for non-virtio peers) and commits;
    /// a non-TCP IPv4 datagram longer than the guest link's MTU goes out in fragments.
    /// </summary>
    /// <param name="partialChecksumStart">Non-zero: the L4 header's offset; its checksum field holds
    /// the pseudo-header sum and the rest is left to the guest's device (<see cref="ChecksumOffload"/>).</param>
    private void Commit(Span<byte> frame, int length, int partialChecksumStart = 0)
    {
        if (Ipv4Fragmenter.Needs(frame[..length], _options.GuestMtu))
        {
            var pieces = _fragmenter.Write(frame[..length], _options.GuestMtu, _sink);
            Counters.FramesOut += pieces;
            Counters.DatagramsFragmented++;
            return;
        }

        if (length < EthernetFrame.MinimumLength)
        {
            frame[length..EthernetFrame.MinimumLength].Clear();
            length = EthernetFrame.MinimumLength;
        }

        Counters.FramesOut++;
        if (partialChecksumStart != 0)
        {
            _sink.CommitPartialChecksum(length, partialChecksumStart, TcpChecksumOffset);
            return;
        }

        _sink.Commit(length);
    }

    public void Dispose()
    {
        _fragments.Dispose();
        foreach (var c in _tcp.Flows)
        {
            _host?.CloseTcp(c);
            c.Dispose();
            ReleaseFlowBuffers(c);
        }

        _tcp.Clear();
        foreach (var f in _udp.Flows)
        {
            _host?.CloseUdp(f);
        }

        _udp.Clear();
        CloseUdp6Flows();
        foreach (var f in _icmp.Flows)
        {
            _host?.CloseIcmp(f);
        }

        _icmp.Clear();
        foreach (var f in _icmp6.Flows)
        {
            _icmp6Host?.Close(f);
        }

        _icmp6.Clear();
        _tftp?.Dispose();
        Dns?.Dispose();
    }
}
