using Netdevd.Native;

namespace Netdevd.UserNet.Host;

/// <summary>
/// Host work of a socket that hears ICMP errors on its error queue (<see cref="RecvErrSocket"/>).
/// An unread entry holds receive-buffer room, and the socket's error edge (EPOLLERR, edge-triggered)
/// is reported once, so the queue is read empty whenever the socket reports an error or a receive
/// fails (the socket's pending error, cleared by that receive): at most a batch per pass, the rest
/// after the other queued work. Each entry goes to <see cref="OnError"/>.
/// </summary>
internal abstract class ErrorQueueWork : HostWork
{
    private const int Batch = 64;
    private bool _errors;

    /// <summary>The socket whose error queue is read.</summary>
    protected abstract int ErrorQueueFd { get; }

    protected abstract bool IsClosed { get; }

    /// <summary>How much of the datagram behind an error to read back (what a relayed ICMP error may quote).</summary>
    protected virtual int QuotedLength => Math.Max(UserStack.MaxQuotedTransport4, UserStack.MaxQuotedTransport6);

    /// <summary>Queues this work on the engine again (more entries may wait).</summary>
    protected abstract void Requeue();

    /// <summary>
    /// One entry: the error, the start of the datagram it is about (its payload as sent), that
    /// datagram's destination and the error's sender (sockaddrs, as long as the kernel gave them).
    /// </summary>
    protected abstract void OnError(in ExtendedSocketError error, Span<byte> quoted, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> offender);

    /// <summary>Notes an error report among an epoll readiness report's <paramref name="events"/>.</summary>
    protected void NoteEvents(uint events) => _errors |= (events & Libc.EPOLLERR) != 0;

    /// <summary>Reads the queue if the socket reported an error since the last read.</summary>
    protected void TakeReportedErrors()
    {
        if (_errors && !IsClosed)
        {
            TakeErrors();
        }
    }

    /// <summary>Reads the queue (a batch of entries; the rest in a later pass).</summary>
    protected void TakeErrors()
    {
        _errors = false;
        Span<byte> quoted = stackalloc byte[QuotedLength];
        Span<byte> destination = stackalloc byte[SockAddrIn6.Length];
        Span<byte> offender = stackalloc byte[SockAddrIn6.Length];
        for (var i = 0; i < Batch && !IsClosed; i++)
        {
            destination.Clear();
            offender.Clear();
            if (!Libc.ReadErrorQueue(ErrorQueueFd, quoted, destination, offender, out var error))
            {
                return; // EAGAIN: empty
            }

            OnError(error, quoted[..error.DataLength], destination[..error.NameLength], offender[..error.OffenderLength]);
        }

        _errors = true;
        Requeue();
    }
}
