using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>Host forwards: a connection accepted on the host becomes a connection we open towards the guest.</summary>
public sealed partial class UserStack
{
    private const ushort FirstForwardPort = 49152;
    private ushort _nextForwardPort = FirstForwardPort;

    /// <summary>
    /// Opens a connection to guest:port for a host connection already accepted (its socket is
    /// <paramref name="hostState"/>); the guest sees it come from the virtual host address, as in
    /// libslirp. Returns null (counted) when the flow table or the memory budget is full.
    /// </summary>
    internal TcpConnection? OpenForward(Ipv4Address guest, ushort guestPort, ITcpHostSocket hostState)
    {
        if (_tcp.Count >= _options.Limits.MaxTcpFlows && !EvictTimeWait())
        {
            Counters.Drop(FrameDropReason.TcpFlowLimit);
            return null;
        }

        TcpFlowAddress key;
        do
        {
            key = new TcpFlowAddress(guest, guestPort, _options.Host, _nextForwardPort);
            _nextForwardPort = _nextForwardPort == ushort.MaxValue ? FirstForwardPort : (ushort)(_nextForwardPort + 1);
        }
        while (_tcp.Contains(key));

        if (ReserveFlowBuffers(out var reserved) is not { } settings)
        {
            Counters.Drop(FrameDropReason.MemoryLimit);
            return null;
        }

        var now = NowMs;
        var connection = TcpConnection.Connect(settings, _tcpOutput, key, NewIss(), now);
        connection.BudgetBytes = reserved;
        connection.HostState = hostState;
        _tcp.Add(key, connection);
        Counters.TcpFlowsOpened++;
        Service(connection, now);
        return connection;
    }

    /// <summary>The first DHCP address: the default guest of a host forward.</summary>
    public Ipv4Address DefaultForwardGuest => _options.DhcpStart;
}
