using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// The guest-facing half of one NATed TCP connection: a sans-IO state machine (smoltcp's model)
/// that takes parsed guest segments and a clock value, and produces segments through
/// <see cref="ITcpOutput"/>. The host half (a kernel socket) only moves bytes in and out of the
/// two rings through the <c>Host*</c> members; it never sees sequence numbers.
/// </summary>
/// <remarks>
/// Vocabulary (passt's): the <em>tap side</em> is the guest's view of the connection:
/// <see cref="GuestAddress"/>:<see cref="GuestPort"/> is the endpoint inside the VM,
/// <see cref="ForeignAddress"/>:<see cref="ForeignPort"/> the address the guest talks to (which may
/// be virtual, such as 10.0.2.2). The partial files split the machine by phase: handshake, input,
/// output, timers, close.
/// </remarks>
internal sealed partial class TcpConnection : IDisposable, IFlow
{
    private readonly TcpSettings _settings;
    private readonly ITcpOutput _output;
    private readonly ByteRing _send;
    private readonly ByteRing _receive;
    private readonly SegmentAssembler _assembler = new();

    // Send sequence space (RFC 793 names): SND.UNA .. SND.NXT in flight, SND.MAX the highest sent
    // (go-back-N retransmission pulls SND.NXT back without forgetting what the guest may ack).
    private uint _iss;
    private uint _sndUna;
    private uint _sndNxt;
    private uint _sndMax;
    private int _sndWnd;
    private uint _sndWl1;
    private uint _sndWl2;
    private int _sndShift;
    private int _guestMss = 536;
    private bool _synSent;
    private bool _synAcked;
    private bool _synAckPending;

    // Receive sequence space.
    private uint _irs;
    private uint _rcvNxt;
    private uint _rcvAdvertisedEdge;
    private int _rcvShift;
    private bool _windowScaling;

    // Close bookkeeping.
    private bool _hostEof;
    private bool _finSent;
    private bool _finAcked;
    private uint _finSeq;
    private bool _guestFin;
    private bool _ackNow;

    private TcpConnection(TcpSettings settings, ITcpOutput output, in TcpFlowAddress address)
    {
        _settings = settings;
        _output = output;
        Address = address;
        _send = new ByteRing(settings.SendBufferSize);
        _receive = new ByteRing(settings.ReceiveBufferSize);
        _rto = settings.InitialRtoMs;
        var shift = 0;
        while (shift < TcpOptions.MaximumWindowScale && (settings.ReceiveBufferSize >> shift) > 0xFFFF)
        {
            shift++;
        }

        _rcvShift = shift;
    }

    public TcpFlowAddress Address { get; }

    public Ipv4Address GuestAddress => Address.GuestAddress;

    public ushort GuestPort => Address.GuestPort;

    public Ipv4Address ForeignAddress => Address.ForeignAddress;

    public ushort ForeignPort => Address.ForeignPort;

    public TcpState State { get; private set; }

    /// <summary>Whether a host forward opened it (towards the guest) rather than the guest.</summary>
    public bool OpenedByHost { get; private init; }

    /// <summary>When the stack last serviced it: a segment, host data or a timer (stack clock, ms; for query-usernet).</summary>
    public long LastActivityMs { get; set; }

    /// <summary>The host side of this connection (its socket); null until the host opens it.</summary>
    public ITcpHostSocket? HostState { get; set; }

    /// <summary>What the connection's buffers hold of the netdev's memory budget (the stack reserves and releases it).</summary>
    public long BudgetBytes { get; set; }

    /// <summary>The guest reset the connection: the host socket should be closed with a RST too.</summary>
    public bool ResetByGuest { get; private set; }

    /// <summary>The MSS used for segments to the guest.</summary>
    public int SendMss => Math.Min(_guestMss, _settings.MaxSegmentSize - IpHeaderGrowth);

    /// <summary>
    /// What the IP header adds over IPv4's 20 bytes: the settings' sizes are IPv4's, an IPv6
    /// header is 40 bytes, so its segments are 20 bytes shorter in the same frame.
    /// </summary>
    private int IpHeaderGrowth => Address.IsIpv4 ? 0 : 20;

    /// <summary>What the send ring holds at most now (it grows for bulk flows).</summary>
    public int SendCapacity => _send.Capacity;

    /// <summary>The guest's current window in bytes (scaled).</summary>
    public int GuestWindow => _sndWnd;

    /// <summary>Bytes from the host not yet acknowledged by the guest.</summary>
    public int SendBuffered => _send.Count;

    /// <summary>Bytes from the guest not yet written to the host.</summary>
    public int ReceiveBuffered => _receive.Count;

    /// <summary>Whether the guest and we agreed on window scaling (RFC 7323).</summary>
    public bool WindowScaling => _windowScaling;

    public void Dispose()
    {
        _send.Dispose();
        _receive.Dispose();
    }

    private ushort AdvertisedWindow()
    {
        var window = _receive.Free >> _rcvShift;
        return (ushort)Math.Min(window, 0xFFFF);
    }
}
