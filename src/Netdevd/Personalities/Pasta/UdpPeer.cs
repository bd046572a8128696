using System.Net;
using System.Net.Sockets;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// One namespace peer of a -U forward: the host socket connected to the target on its behalf, and
/// when either direction last carried a datagram (so the idle ones can give their socket back).
/// </summary>
internal sealed class UdpPeer : IDisposable
{
    private long _lastUsed;

    private UdpPeer(Socket host) => Host = host;

    public Socket Host { get; }

    /// <summary><see cref="Environment.TickCount64"/> when a datagram last passed, either way.</summary>
    public long LastUsed => Volatile.Read(ref _lastUsed);

    /// <summary>A host socket connected to <paramref name="target"/>, or null when none can be made (no descriptor left).</summary>
    public static UdpPeer? TryConnect(IPEndPoint target)
    {
        Socket? host = null;
        try
        {
            host = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            host.Connect(target);
            return new UdpPeer(host);
        }
        catch (SocketException)
        {
            host?.Dispose();
            return null;
        }
    }

    public void Touch(long now) => Volatile.Write(ref _lastUsed, now);

    public void Dispose() => Host.Dispose();
}
