using Netdevd.Core.Clients;
using Netdevd.Native;

namespace Netdevd.Backends.Dgram;

/// <summary>
/// The socket of a <see cref="DatagramSocketClient"/> and its sending half: each frame leaves as
/// one datagram (behind an optional header), at once with sendto/sendmsg, or, inside a sender's
/// batch, copied into a sendmmsg batch that leaves with one system call at the batch's end or
/// when full. The datagrams are the same either way. Any thread; one lock serialises sending and close.
/// </summary>
internal sealed class DatagramSender : IDisposable
{
    /// <summary>Bytes of frames a send batch holds: a 64 KiB super-frame's segments several times over.</summary>
    private const int BatchBytes = 256 * 1024;

    /// <summary>Frames at least this long are sent with their own call rather than copied into the batch.</summary>
    private const int DirectSendSize = 16 * 1024;

    // MSG_DONTWAIT too: an fd= descriptor shares its file status flags with whoever passed it,
    // who may turn O_NONBLOCK off again.
    private const int Flags = Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL;

    private readonly Lock _lock = new();
    private readonly DatagramSendBatch _batch;
    private readonly SockAddr? _destination;
    private readonly DatagramCounters _counters;
    private readonly Action _wantWrite;
    private volatile int _fd;

    /// <param name="wantWrite">Asks to be told when the socket is writable (it pushed back).</param>
    public DatagramSender(int fd, SockAddr? destination, int maxMessages, DatagramCounters counters, Action wantWrite)
    {
        _fd = fd;
        _destination = destination;
        _counters = counters;
        _wantWrite = wantWrite;
        _batch = new DatagramSendBatch(BatchBytes, maxMessages, destination);
    }

    /// <summary>The socket; -1 once closed.</summary>
    public int Fd => _fd;

    /// <summary>
    /// Sends <paramref name="header"/> and <paramref name="frame"/> as one datagram, or holds them
    /// for the batch when <paramref name="inBatch"/>. Busy when the socket pushed back (POLLOUT is
    /// requested; retry the frame then); refusals are dropped, counted and answered Accepted.
    /// </summary>
    public ReceiveResult Send(ReadOnlySpan<byte> header, ReadOnlySpan<byte> frame, bool inBatch)
    {
        lock (_lock)
        {
            if (_fd < 0)
            {
                return ReceiveResult.Accepted;
            }

            // A large frame is sent at once (behind what is held): copying it would cost more than the call it saves.
            if (inBatch && frame.Length < DirectSendSize)
            {
                if (_batch.TryAppend(header, frame))
                {
                    return ReceiveResult.Accepted;
                }

                if (!FlushLocked())
                {
                    return ReceiveResult.Busy;
                }

                if (_batch.TryAppend(header, frame))
                {
                    return ReceiveResult.Accepted;
                }
            }
            else if (!FlushLocked())
            {
                // Held datagrams go first, so frames stay in order.
                return ReceiveResult.Busy;
            }

            nint n;
            int errno;
            do
            {
                n = header.IsEmpty
                    ? Libc.SendTo(_fd, frame, Flags, _destination)
                    : Libc.SendGather(_fd, header, frame, Flags, _destination);
                errno = n < 0 ? Errno.Last : 0;
            }
            while (n < 0 && errno == Errno.EINTR);

            if (n >= 0)
            {
                _counters.Sent++;
                return ReceiveResult.Accepted;
            }

            return Refused(errno) ? ReceiveResult.Accepted : ReceiveResult.Busy;
        }
    }

    /// <summary>Sends what the batch holds; false when the socket pushed back (the rest stays held).</summary>
    public bool Flush()
    {
        lock (_lock)
        {
            return FlushLocked();
        }
    }

    /// <summary>Closes the socket and frees the batch; what it held is dropped.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_fd >= 0)
            {
                _ = Libc.Close(_fd);
                _fd = -1;
            }

            _batch.Dispose();
        }
    }

    /// <summary>sendmmsg of the held datagrams, under the lock; refused ones are dropped and counted as sendto's would be.</summary>
    private bool FlushLocked()
    {
        while (!_batch.IsEmpty && _fd >= 0)
        {
            var n = _batch.Send(_fd, Flags);
            if (n > 0)
            {
                _counters.Sent += n;
                continue;
            }

            var errno = Errno.Last;
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (!Refused(errno))
            {
                return false;
            }

            _batch.DropFirst();
        }

        return true;
    }

    /// <summary>
    /// What a failed send means: true when the datagram is refused for good (counted; it is
    /// dropped), false when the socket pushed back (POLLOUT is requested; send it again then).
    /// </summary>
    private bool Refused(int errno)
    {
        switch (errno)
        {
            case Errno.EAGAIN or Errno.ENOBUFS:
                _wantWrite();
                return false;
            case Errno.EMSGSIZE:
                _counters.DroppedOversize++;
                return true;
            default:
                _counters.SendErrors++;
                return true;
        }
    }
}
