using System.Buffers.Binary;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.UserNet;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Services;
using Netdevd.UserNet.Services.Dns;
using Netdevd.UserNet.Services.Tftp;
using Netdevd.Wire;

namespace Netdevd.Fuzz.Support;

/// <summary>
/// A user-mode stack as the user netdev builds it (DHCP with every option QEMU can send, TFTP
/// over a real directory, the DNS proxy), on a fake clock and a fake host side, fed with a
/// sequence of records split from one fuzz input. Each record is
/// <c>[control][u16 length][bytes]</c>: the control's low nibble advances the clock before the
/// record (timers, retransmissions, expiry run), bit 4 leaves the checksums as the fuzzer wrote
/// them, and bits 5-7 pick the harness's action (0: the bytes are guest input).
/// </summary>
internal sealed class StackDriver : IDisposable
{
    public const byte RawChecksums = 0x10;

    private static readonly int[] s_advanceMs = [0, 1, 10, 100, 200, 500, 1000, 2000, 3000, 5000, 10_000, 30_000, 60_000, 240_000, 3_600_000, 86_400_000];
    private static readonly Lazy<string> s_tftpRoot = new(CreateTftpRoot);
    private static readonly Ipv4Address s_outside = Ipv4Address.Create(203, 0, 113, 9);
    private static readonly Ipv6Address s_outside6 = new(0x2001_0db8_0000_0000UL, 9);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly byte[] _frame = new byte[NetClient.MaxFrameSize];

    /// <param name="ipv6DhcpAddress">The address stateful DHCPv6 assigns (the netdev's ipv6-dhcp-address); null: stateless only.</param>
    public StackDriver(bool restrict = false, bool ipv6 = false, Ipv6Address? ipv6DhcpAddress = null)
    {
        var config = new UserNetConfig
        {
            Restrict = restrict,
            Hostname = "guest1",
            DomainName = "example.org",
            DnsSearch = ["example.org", "lab.example.org"],
            BootFile = "pxelinux.0",
            TftpServerName = "10.0.2.2",
            TftpRoot = s_tftpRoot.Value,
        };
        var options = new UserStackOptions { Restrict = restrict, Ipv6Enabled = ipv6, Ipv6DnsSearch = config.DnsSearch, Ipv6DhcpAddress = ipv6DhcpAddress };
        var arp = new ArpTable(options.Network, options.Netmask);
        var dhcp = new DhcpServer(config, _time, arp);
        var tftp = new TftpServer(new DirectoryTftpFileSource(s_tftpRoot.Value), _time);
        Stack = new UserStack(options, Sink, _time, dhcp, tftp, arp);
        Stack.AttachHost(Host);
        Stack.AttachIcmpv6Host(Icmp6);
        Stack.Dns = new DnsForwarder([new IPEndPoint(IPAddress.Loopback, 53), new IPEndPoint(IPAddress.Parse("192.0.2.53"), 53)], Upstream, _time);
    }

    public UserStack Stack { get; }

    public FuzzNatHost Host { get; } = new();

    public FuzzIcmpv6Host Icmp6 { get; } = new();

    public CheckingSink Sink { get; } = new();

    public RecordingUpstream Upstream { get; } = new();

    /// <summary>Runs every record of <paramref name="input"/> through <paramref name="action"/>, with the clock and timers between them.</summary>
    public void Run(ReadOnlySpan<byte> input, RecordAction action)
    {
        var reader = new FuzzReader(input);
        while (!reader.IsAtEnd)
        {
            var control = reader.Byte();
            var record = reader.Record();
            Advance(s_advanceMs[control & 0x0f]);
            action(this, control, record);
            Host.ConnectPending(Stack);
        }

        Advance(s_advanceMs[^1]);
    }

    /// <summary>One whole guest frame (a copy: the stack may keep nothing of the caller's bytes, and the checksums get fixed).</summary>
    public void Frame(ReadOnlySpan<byte> frame, byte control)
    {
        var copy = _frame.AsSpan(0, frame.Length);
        frame.CopyTo(copy);
        if ((control & RawChecksums) == 0)
        {
            Frames.FixChecksums(copy);
        }

        Stack.Input(copy);
    }

    /// <summary>A guest datagram: <paramref name="payload"/> in UDP, IPv4 and Ethernet.</summary>
    public void Udp(ReadOnlySpan<byte> source, ushort sourcePort, ReadOnlySpan<byte> destination, ushort destinationPort, ReadOnlySpan<byte> payload, byte control)
    {
        var l4 = new byte[8 + payload.Length];
        Frames.Udp(l4, sourcePort, destinationPort, payload);
        var mac = destination.SequenceEqual(Frames.AllOnes) ? Frames.Broadcast : Frames.GatewayMac;
        var n = Frames.Ipv4(_frame, mac, source, destination, Frames.ProtocolUdp, l4);
        if ((control & RawChecksums) != 0)
        {
            // The fuzzer asked for its own checksum: a UDP checksum of zero means none.
            BinaryPrimitives.WriteUInt16BigEndian(_frame.AsSpan(Frames.EthernetHeader + 20 + 6), 0);
        }

        Stack.Input(_frame.AsSpan(0, n));
    }

    /// <summary>A guest IPv4 datagram with a 20-byte header around <paramref name="l4"/>.</summary>
    public void Ipv4(ReadOnlySpan<byte> destination, byte protocol, ReadOnlySpan<byte> l4, byte control)
    {
        var n = Frames.Ipv4(_frame, Frames.GatewayMac, Frames.Guest, destination, protocol, l4);
        if ((control & RawChecksums) != 0)
        {
            l4.CopyTo(_frame.AsSpan(Frames.EthernetHeader + 20));
        }

        Stack.Input(_frame.AsSpan(0, n));
    }

    /// <summary>
    /// A host socket hears an ICMP error: <paramref name="record"/> is the error's origin (low 2
    /// bits), type and code, a byte of flags (1: the datagram went to the host's loopback, else
    /// outside; 2: the error names its sender; 4: about the newest echo flow, IPv4 then IPv6,
    /// else the newest UDP flow), the destination port, then the quoted bytes, of any length.
    /// </summary>
    public void HostError(ReadOnlySpan<byte> record)
    {
        if (record.Length < 6)
        {
            return;
        }

        var error = new ExtendedSocketError(Errno.ECONNREFUSED, (byte)(record[0] & 3), record[1], record[2], 0, 0, 0);
        var loopback = (record[3] & 1) != 0;
        var named = (record[3] & 2) != 0;
        var port = BinaryPrimitives.ReadUInt16BigEndian(record[4..]);
        var quoted = record[6..];
        if ((record[3] & 4) != 0)
        {
            if (Host.LastIcmp is { } echo)
            {
                Stack.OnIcmpError(echo, error, named ? s_outside : Ipv4Address.Any, quoted);
            }

            if (Icmp6.Last is { } echo6)
            {
                Stack.OnIcmpv6Error(echo6, error, named ? s_outside6 : Ipv6Address.Unspecified, quoted);
            }
        }
        else if (Host.LastUdp is { IsIpv6: true } flow6)
        {
            var to = loopback ? Ipv6Address.Loopback : s_outside6;
            Stack.OnUdp6Error(flow6, error, to, port, named ? to : Ipv6Address.Unspecified, quoted);
        }
        else if (Host.LastUdp is { } flow)
        {
            var to = loopback ? Ipv4Address.Loopback : s_outside;
            Stack.OnUdpError(flow, error, to, port, named ? to : Ipv4Address.Any, quoted);
        }
    }

    private void Advance(int ms)
    {
        if (ms > 0)
        {
            _time.Advance(TimeSpan.FromMilliseconds(ms));
        }

        Stack.Poll();
    }

    public void Dispose() => Stack.Dispose();

    /// <summary>A small TFTP root (made once per process): files of a few sizes, a subdirectory, a file larger than 65535 blocks of 512 bytes (sparse).</summary>
    private static string CreateTftpRoot()
    {
        var root = Path.Combine(Path.GetTempPath(), "netdevd-fuzz-tftp");
        Directory.CreateDirectory(Path.Combine(root, "sub"));
        File.WriteAllBytes(Path.Combine(root, "pxelinux.0"), new byte[1024]);
        File.WriteAllBytes(Path.Combine(root, "boot.bin"), new byte[3000]);
        File.WriteAllBytes(Path.Combine(root, "empty"), []);
        File.WriteAllBytes(Path.Combine(root, "sub", "f"), new byte[512]);
        using (var big = File.Open(Path.Combine(root, "big"), FileMode.OpenOrCreate, FileAccess.Write))
        {
            big.SetLength((65536L * 512) + 100);
        }

        return root;
    }
}

/// <summary>What a harness does with one record.</summary>
internal delegate void RecordAction(StackDriver driver, byte control, ReadOnlySpan<byte> record);

/// <summary>
/// Takes the stack's frames for the guest and checks each one as the guest's kernel would
/// parse it: a sane length and, for IPv4, a correct header checksum and a total length that fits.
/// </summary>
internal sealed class CheckingSink : IFrameSink
{
    private byte[] _buffer = new byte[NetClient.MaxFrameSize];

    public long Frames { get; private set; }

    /// <summary>
    /// The initial sequence number of the stack's SYN (or SYN-ACK) to each guest port. The stack
    /// picks it at random; harnesses make the guest's acknowledgments relative to it.
    /// </summary>
    public Dictionary<ushort, uint> Iss { get; } = [];

    public Span<byte> Allocate(int maxLength)
    {
        if (maxLength > _buffer.Length)
        {
            _buffer = new byte[maxLength];
        }

        return _buffer;
    }

    /// <summary>Completes the checksum as the guest's device would, then checks the frame.</summary>
    public void CommitPartialChecksum(int length, int checksumStart, int checksumOffset)
    {
        var frame = _buffer.AsSpan(0, length);
        var value = Checksum.Finish(Checksum.Add(0, frame[checksumStart..]));
        BinaryPrimitives.WriteUInt16BigEndian(frame[(checksumStart + checksumOffset)..], value);
        Commit(length);
    }

    public void Commit(int length)
    {
        Frames++;
        if (length < EthernetFrame.MinimumLength || length > NetClient.MaxFrameSize)
        {
            throw new FuzzFindingException($"the stack emitted a frame of {length} bytes");
        }

        var frame = _buffer.AsSpan(0, length);
        if (BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == EtherType.Ipv6)
        {
            CheckIpv6(frame);
            return;
        }

        if (BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800)
        {
            return;
        }

        if (!Ipv4Packet.TryCreate(frame[Support.Frames.EthernetHeader..], out var ip) || !ip.VerifyChecksum())
        {
            throw new FuzzFindingException($"the stack emitted a malformed IPv4 frame: {Convert.ToHexString(frame)}");
        }

        if (ip.Protocol == IpProtocol.Tcp && !ip.IsFragment && TcpPacket.TryCreate(ip.Payload, out var tcp) && tcp.Syn)
        {
            Iss[tcp.DestinationPort] = tcp.SequenceNumber;
        }
    }

    private static void CheckIpv6(Span<byte> frame)
    {
        if (!Ipv6Packet.TryCreate(frame[Support.Frames.EthernetHeader..], out var ip) || ip.HopLimit == 0)
        {
            throw new FuzzFindingException($"the stack emitted a malformed IPv6 frame: {Convert.ToHexString(frame)}");
        }

        var chain = ip.WalkHeaders();
        var l4 = ip.Bytes[chain.UpperOffset..];
        var valid = chain.Protocol switch
        {
            IpProtocol.Icmpv6 => Icmpv6Packet.TryCreate(l4, out var icmp) && icmp.VerifyChecksum(ip.Source, ip.Destination),
            IpProtocol.Udp => UdpPacket.TryCreate(l4, out var udp) && udp.VerifyChecksum(ip.Source, ip.Destination),
            IpProtocol.Tcp => TcpPacket.TryCreate(l4, out var tcp) && tcp.VerifyChecksum(ip.Source, ip.Destination),
            _ => true,
        };
        if (!chain.IsComplete || !valid || ip.Source.IsMulticast)
        {
            throw new FuzzFindingException($"the stack emitted a bad IPv6 datagram: {Convert.ToHexString(frame)}");
        }
    }
}

/// <summary>What the stack emits over IPv6 must parse, and its ICMPv6 or UDP checksum must be right.</summary>
/// <summary>The DNS proxy's upstream: remembers the last query so a harness can answer it.</summary>
internal sealed class RecordingUpstream : IDnsUpstream
{
    private readonly byte[] _query = new byte[65536];

    public IPEndPoint? Resolver { get; private set; }

    public int QueryLength { get; private set; }

    public ReadOnlySpan<byte> LastQuery => _query.AsSpan(0, QueryLength);

    /// <summary>Whether sends fail as a host without a route to the resolver refuses them.</summary>
    public bool Refusing { get; set; }

    public bool Send(IPEndPoint resolver, ReadOnlySpan<byte> query)
    {
        Resolver = resolver;
        QueryLength = Math.Min(query.Length, _query.Length);
        query[..QueryLength].CopyTo(_query);
        return !Refusing;
    }
}

/// <summary>
/// The host side of the NAT without sockets: connects succeed when the harness says so, UDP and
/// ICMP sockets always open, and what the stack sends is dropped. It keeps the connections the
/// stack has not closed, so host events only ever reach live ones (as the real host side).
/// </summary>
internal sealed class FuzzNatHost : INatHost
{
    private readonly List<TcpConnection> _pending = [];

    public List<TcpConnection> Live { get; } = [];

    /// <summary>The next pending connect fails instead of succeeding.</summary>
    public bool RefuseNext { get; set; }

    public void OpenTcp(TcpConnection connection, HostTarget target, byte ttl)
    {
        _pending.Add(connection);
        Live.Add(connection);
    }

    public void SyncTcp(TcpConnection connection)
    {
    }

    public void CloseTcp(TcpConnection connection)
    {
        _pending.Remove(connection);
        Live.Remove(connection);
    }

    /// <summary>The newest UDP flow (either family), kept after it closes: a late error may name it.</summary>
    public UdpFlow? LastUdp { get; private set; }

    /// <summary>Flows from odd guest ports 3 mod 4 find the host without their family (EAFNOSUPPORT), so the fuzzer reaches that unreachable too.</summary>
    public int OpenUdp(UdpFlow flow)
    {
        if (flow.GuestPort % 4 == 3)
        {
            return Errno.EAFNOSUPPORT;
        }

        LastUdp = flow;
        return 0;
    }

    /// <summary>Odd ports fail as if unrouted, so the fuzzer reaches the stack's ICMP unreachable too.</summary>
    public bool SendUdp(UdpFlow flow, Ipv4Address destination, ushort port, ReadOnlySpan<byte> payload, byte ttl) => port % 2 == 0;

    /// <summary>Odd ports fail as if unrouted, so the fuzzer reaches the stack's ICMPv6 unreachable too.</summary>
    public bool SendUdp6(UdpFlow flow, Ipv6Address destination, ushort port, ReadOnlySpan<byte> payload, byte hopLimit) => port % 2 == 0;

    public void CloseUdp(UdpFlow flow)
    {
    }

    /// <summary>The newest echo flow, kept after it closes: a late error may name it.</summary>
    public IcmpFlow? LastIcmp { get; private set; }

    public bool OpenIcmp(IcmpFlow flow)
    {
        LastIcmp = flow;
        return true;
    }

    /// <summary>Odd identifiers fail as if unrouted (the stack answers with an unreachable).</summary>
    public bool SendIcmp(IcmpFlow flow, ReadOnlySpan<byte> icmp, byte ttl) => flow.Identifier % 2 == 0;

    public void CloseIcmp(IcmpFlow flow)
    {
    }

    /// <summary>Answers the connects the last record started (the host's connect completes between guest frames).</summary>
    public void ConnectPending(UserStack stack)
    {
        while (_pending.Count > 0)
        {
            var c = _pending[0];
            _pending.RemoveAt(0);
            var refused = RefuseNext;
            RefuseNext = false;
            if (!refused)
            {
                stack.OnTcpConnected(c, true);
            }
            else
            {
                // Odd foreign ports fail as unreachable (an ICMP error quoting the SYN), even ones as
                // refused (a reset); ports 3 mod 4 as if a router's ICMP error failed the connect, its
                // type and code from the port's higher bits, its sender named when bit 11 is set.
                var port = c.Address.ForeignPort;
                if (port % 4 == 3)
                {
                    var origin = c.Address.IsIpv4 ? ExtendedSocketError.OriginIcmp : ExtendedSocketError.OriginIcmp6;
                    var icmp = new ExtendedSocketError(Errno.EHOSTUNREACH, origin, (byte)((port >> 2) & 0x1f), (byte)((port >> 7) & 0xf), 0, 0, 0);
                    var sender = (port & 0x800) == 0 ? default : c.Address.IsIpv4 ? Ipv6Address.FromIpv4Mapped(Ipv4Address.Create(198, 51, 100, 1)) : c.Address.Foreign;
                    stack.OnTcpConnectFailed(c, Errno.EHOSTUNREACH, icmp, sender);
                }
                else
                {
                    stack.OnTcpConnectFailed(c, port % 2 == 1 ? Errno.ENETUNREACH : Errno.ECONNREFUSED);
                }
            }
        }
    }
}

/// <summary>The host side of ICMPv6 echo without sockets: every flow opens, sends are recorded, the last flow can be answered.</summary>
internal sealed class FuzzIcmpv6Host : IIcmpv6Host
{
    public Icmpv6Flow? Last { get; private set; }

    /// <summary>Sends fail as if the host had no route (the stack answers with an unreachable).</summary>
    public bool Unroutable { get; set; }

    public bool Open(Icmpv6Flow flow)
    {
        Last = flow;
        return true;
    }

    public bool Send(Icmpv6Flow flow, ReadOnlySpan<byte> icmp, byte hopLimit)
    {
        Last = flow;
        return !Unroutable;
    }

    public void Close(Icmpv6Flow flow)
    {
        if (Last == flow)
        {
            Last = null;
        }
    }
}
