using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;

namespace Netdevd.UserNet;

/// <summary>query-usernet: a snapshot of every flow (called under the engine lock; not a packet path).</summary>
public sealed partial class UserStack
{
    /// <summary>Each drop reason's name in query-usernet: the enum member in kebab case ("BadChecksum" -> "bad-checksum").</summary>
    private static readonly string[] s_dropReasonNames = Enum.GetValues<FrameDropReason>().Select(ReasonName).ToArray();

    /// <summary>The stack's counters for query-usernet: refused frames by reason, only the reasons that occurred.</summary>
    public UsernetCounters QueryCounters()
    {
        var drops = new List<UsernetDrop>();
        foreach (var reason in Enum.GetValues<FrameDropReason>())
        {
            var count = Counters.Drops(reason);
            if (count > 0)
            {
                drops.Add(new UsernetDrop { Reason = s_dropReasonNames[(int)reason], Count = count });
            }
        }

        return new UsernetCounters
        {
            FramesIn = Counters.FramesIn,
            FramesOut = Counters.FramesOut,
            TcpFlowsOpened = Counters.TcpFlowsOpened,
            UdpFlowsOpened = Counters.UdpFlowsOpened,
            IcmpErrorsSent = IcmpErrorsSent + Icmpv6ErrorsSent,
            IcmpErrorsRelayed = Counters.IcmpErrorsRelayed,
            Drops = drops,
        };
    }

    private static string ReasonName(FrameDropReason reason)
    {
        var name = reason.ToString();
        var text = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                text.Append('-');
            }

            text.Append(char.ToLowerInvariant(name[i]));
        }

        return text.ToString();
    }

    /// <summary>Adds one <see cref="UsernetFlowInfo"/> per TCP connection, UDP flow, UDP host-forward client and ICMP echo stream, of either family.</summary>
    public void CollectFlows(List<UsernetFlowInfo> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        var now = NowMs;
        foreach (var c in _tcp.Flows)
        {
            into.Add(Flow("tcp", TcpStateName(c.State), c.OpenedByHost, c.GuestAddress.ToString(), c.GuestPort,
                c.ForeignAddress.ToString(), c.ForeignPort, c.HostState as IHostEndpointInfo,
                c.SendBuffered, c.ReceiveBuffered, now - c.LastActivityMs));
        }

        foreach (var f in _udp.Flows)
        {
            into.Add(Flow("udp", "active", false, f.GuestAddress.ToString(), f.GuestPort, "*", 0,
                f.HostState as IHostEndpointInfo, 0, 0, now - f.LastActivityMs));
        }

        foreach (var f in _udp6.Flows)
        {
            into.Add(Flow("udp", "active", false, f.GuestAddress6.ToString(), f.GuestPort, "*", 0,
                f.HostState as IHostEndpointInfo, 0, 0, now - f.LastActivityMs));
        }

        foreach (var f in _udpForwards.Flows)
        {
            into.Add(Flow("udp", f.Closed ? "closed" : "active", true, f.IsIpv4 ? f.GuestAddress.ToString() : f.Guest.ToString(), f.GuestPort,
                f.IsIpv4 ? f.ForeignAddress.ToString() : f.Foreign.ToString(), f.ForeignPort, f.HostState as IHostEndpointInfo, 0, 0, now - f.LastActivityMs));
        }

        foreach (var f in _icmp.Flows)
        {
            into.Add(Flow("icmp", "active", false, f.GuestAddress.ToString(), f.Identifier, f.ForeignAddress.ToString(), 0,
                null, 0, 0, now - f.LastActivityMs));
        }

        foreach (var f in _icmp6.Flows)
        {
            into.Add(Flow("icmp", "active", false, f.GuestAddress.ToString(), f.Identifier, f.Destination.ToString(), 0,
                null, 0, 0, now - f.LastActivityMs));
        }
    }

    private static UsernetFlowInfo Flow(string protocol, string state, bool inbound, string guestAddress, int guestPort,
        string foreignAddress, int foreignPort, IHostEndpointInfo? host, long toGuest, long toHost, long idleMs)
    {
        var local = host?.HostLocalEndPoint;
        return new UsernetFlowInfo
        {
            Protocol = protocol,
            State = state,
            Direction = inbound ? "inbound" : "outbound",
            GuestAddr = guestAddress,
            GuestPort = guestPort,
            ForeignAddr = foreignAddress,
            ForeignPort = foreignPort,
            HostAddr = local?.Address.ToString(),
            HostPort = local?.Port,
            QueuedToGuest = toGuest,
            QueuedToHost = toHost,
            IdleMs = Math.Max(0, idleMs),
        };
    }

    /// <summary>RFC 9293's names, as netstat prints them.</summary>
    private static string TcpStateName(TcpState state) => state switch
    {
        TcpState.Closed => "CLOSED",
        TcpState.SynSent => "SYN_SENT",
        TcpState.SynReceived => "SYN_RECEIVED",
        TcpState.Established => "ESTABLISHED",
        TcpState.FinWait1 => "FIN_WAIT_1",
        TcpState.FinWait2 => "FIN_WAIT_2",
        TcpState.CloseWait => "CLOSE_WAIT",
        TcpState.Closing => "CLOSING",
        TcpState.LastAck => "LAST_ACK",
        TcpState.TimeWait => "TIME_WAIT",
        _ => state.ToString(),
    };
}
