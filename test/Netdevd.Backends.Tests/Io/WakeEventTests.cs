using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// The coalesced wake every event loop uses: signals while one is pending write nothing more, a
/// consumed wake lets the next signal through, and the epoll set made with it reports it.
/// </summary>
public sealed class WakeEventTests
{
    [Fact]
    public void Signals_while_one_is_pending_coalesce_into_one_write()
    {
        using var wake = new WakeEvent();
        wake.Signal();
        wake.Signal();
        wake.Signal();

        Assert.Equal(1UL, ReadCounter(wake.Fd));
        Assert.Equal(0UL, ReadCounter(wake.Fd));
    }

    [Fact]
    public void A_consumed_wake_lets_the_next_signal_write_again()
    {
        using var wake = new WakeEvent();
        wake.Signal();
        wake.Consume();
        Assert.Equal(0UL, ReadCounter(wake.Fd));

        // Without the re-arm in Consume this wake would be lost, and every later one with it.
        wake.Signal();
        Assert.Equal(1UL, ReadCounter(wake.Fd));
    }

    [Fact]
    public void A_forced_signal_writes_even_when_a_wake_seems_pending()
    {
        using var wake = new WakeEvent();
        wake.Signal();
        _ = ReadCounter(wake.Fd);    // drained without Consume: the flag still says pending
        wake.Signal();
        Assert.Equal(0UL, ReadCounter(wake.Fd));

        wake.SignalForced();
        Assert.Equal(1UL, ReadCounter(wake.Fd));
    }

    [Fact]
    public void The_epoll_set_made_with_it_reports_a_signal_under_its_token()
    {
        const ulong token = 0xABCDEF;
        var epoll = WakeEvent.CreateEpoll(token, out var wake);
        try
        {
            var events = new EpollEvent[4];
            Assert.Equal(0, Libc.EpollWait(epoll, events, 0));

            wake.Signal();
            Assert.Equal(1, Libc.EpollWait(epoll, events, 1000));
            Assert.Equal(token, events[0].Data);

            wake.Consume();
            Assert.Equal(0, Libc.EpollWait(epoll, events, 0));
        }
        finally
        {
            wake.Dispose();
            Libc.Close(epoll);
        }
    }

    /// <summary>The eventfd's counter, reset by the read; 0 when nothing was written (EAGAIN).</summary>
    private static ulong ReadCounter(int fd)
    {
        Span<byte> value = stackalloc byte[8];
        return Libc.Read(fd, value) == 8 ? BitConverter.ToUInt64(value) : 0UL;
    }
}
