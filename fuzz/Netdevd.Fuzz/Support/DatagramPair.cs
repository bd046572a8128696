using Netdevd.Native;

namespace Netdevd.Fuzz.Support;

/// <summary>
/// A connected pair of AF_UNIX datagram sockets: the harness writes datagrams into one end,
/// a datagram backend reads the other exactly as it reads its real socket (recvmmsg, truncation
/// flags and all). The backend owns its end; the harness keeps the writing end.
/// </summary>
internal sealed class DatagramPair
{
    public DatagramPair()
    {
        if (!Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0, out var a, out var b))
        {
            throw new InvalidOperationException("socketpair failed");
        }

        BackendFd = a;
        WriterFd = b;

        // Room for many datagrams (the harness reads them when the writer's buffer fills).
        _ = Libc.SetSockOptInt(a, Libc.SOL_SOCKET, Libc.SO_RCVBUF, 4 << 20);
    }

    public int BackendFd { get; }

    public int WriterFd { get; }

    /// <summary>A record can hold at most 65535 bytes: one that long stands for a 70000-byte datagram (larger than any receive slot).</summary>
    public const int OversizeMarker = ushort.MaxValue;

    private readonly byte[] _oversize = new byte[70_000];

    /// <summary>Queues one datagram; false when the socket buffer is full (the caller reads first).</summary>
    public bool Write(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length == OversizeMarker)
        {
            datagram.CopyTo(_oversize);
            datagram = _oversize;
        }

        return Libc.Write(WriterFd, datagram) >= 0;
    }
}
