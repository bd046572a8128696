namespace Netdevd.UserNet.Interface;

/// <summary>Counters of the stack (read them for diagnostics; updated under the stack's lock).</summary>
public sealed class StackCounters
{
    private readonly long[] _drops = new long[Enum.GetValues<FrameDropReason>().Length];

    public long FramesIn { get; internal set; }

    public long FramesOut { get; internal set; }

    /// <summary>Datagrams for the guest longer than its link's MTU, sent as IPv4 fragments.</summary>
    public long DatagramsFragmented { get; internal set; }

    public long TcpFlowsOpened { get; internal set; }

    public long UdpFlowsOpened { get; internal set; }

    /// <summary>ICMP and ICMPv6 errors about the guest's datagrams (UDP, echo) that the host's sockets heard and the guest was told of.</summary>
    public long IcmpErrorsRelayed { get; internal set; }

    /// <summary>Accepts of TCP hostfwd listeners that failed for want of descriptors or memory, each followed by a wait before the next try.</summary>
    public long HostForwardAcceptFailures { get; internal set; }

    public long Drops(FrameDropReason reason) => _drops[(int)reason];

    public long TotalDrops
    {
        get
        {
            long sum = 0;
            foreach (var d in _drops)
            {
                sum += d;
            }

            return sum;
        }
    }

    internal void Drop(FrameDropReason reason) => _drops[(int)reason]++;
}
