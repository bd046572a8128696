using System.Diagnostics;
using Netdevd.Core.Clients;
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
