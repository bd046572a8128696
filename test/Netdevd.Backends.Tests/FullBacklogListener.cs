using System.Net.Sockets;

namespace Netdevd.Backends.Tests;

/// <summary>
/// A unix listener that never accepts, its backlog filled by connections the test holds: the
/// next connect to <see cref="Path"/> waits there for ever when blocking (and closing its socket
/// does not wake it) or says EAGAIN when not. Accepting one makes room for one.
/// </summary>
internal sealed class FullBacklogListener : IDisposable
{
    private readonly List<Socket> _fillers = [];

    public FullBacklogListener(string path)
    {
        Path = path;
        Listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Listener.Bind(new UnixDomainSocketEndPoint(path));
        Listener.Listen(0);
        for (var i = 0; i < 64; i++)
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
            try
            {
                s.Connect(new UnixDomainSocketEndPoint(path));
                _fillers.Add(s);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                s.Dispose();
                return;
            }
        }

        Dispose();
        throw new InvalidOperationException("the backlog never filled");
    }

    public string Path { get; }

    public Socket Listener { get; }

    /// <summary>The connections that fill the backlog, all waiting to be accepted.</summary>
    public int Queued => _fillers.Count;

    public void Dispose()
    {
        foreach (var s in _fillers)
        {
            s.Dispose();
        }

        Listener.Dispose();
    }
}
