using System.Diagnostics;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// A receiver slower than any far end: it spins about 50 µs on every frame, so a netdev that
/// hands it frames read from a socket a thread keeps full always finds more to read.
/// </summary>
internal sealed class SlowReceiver(string name) : NetClient(name, NetClientDriver.Nic)
{
    private static readonly long s_spinTicks = Stopwatch.Frequency / 20_000;
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        var until = Stopwatch.GetTimestamp() + s_spinTicks;
        while (Stopwatch.GetTimestamp() < until)
        {
            Thread.SpinWait(10);
        }

        Interlocked.Increment(ref _count);
        return ReceiveResult.Accepted;
    }
}

/// <summary>
/// A hostile far end: a thread that calls <c>writeOnce</c> (one write of frames into a netdev's
/// socket) as fast as it can until disposed or until it returns false (the socket is gone).
/// </summary>
internal sealed class Flooder : IDisposable
{
    private readonly Func<bool> _writeOnce;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _writes;

    public Flooder(string name, Func<bool> writeOnce)
    {
        _writeOnce = writeOnce;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>
    /// Gives <paramref name="fd"/> an 8 MiB send (or receive) buffer, past rmem_max/wmem_max where
    /// the test runs as root: thousands of frames queued ahead of the reader, so the flood cannot
    /// run dry while the writing thread waits for a core (a reader that catches up finds EAGAIN).
    /// </summary>
    public static void DeepenBuffer(int fd, bool send)
    {
        const int SoSndBufForce = 32;
        const int SoRcvBufForce = 33;
        const int Bytes = 8 << 20;
        if (Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, send ? SoSndBufForce : SoRcvBufForce, Bytes) != 0)
        {
            _ = Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, send ? Libc.SO_SNDBUF : Libc.SO_RCVBUF, Bytes);
        }
    }

    /// <summary>Stops the writes and waits for the thread (each write must give up within a moment: use timeouts or non-blocking sockets).</summary>
    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Run()
    {
        while (!_stop)
        {
            if (!_writeOnce())
            {
                return;
            }

            Interlocked.Increment(ref _writes);
        }
    }
}
