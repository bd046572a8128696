using Netdevd.Native;

namespace Netdevd.Backends.Dgram;

/// <summary>A datagram client's side of <see cref="DatagramDrain"/>.</summary>
internal interface IDatagramBatchReceiver
{
    bool IsClosed { get; }

    /// <summary>Hands out the <paramref name="count"/> datagrams just read; false when the peer pushed back.</summary>
    bool DeliverBatch(int count);

    /// <summary>recvmmsg failed with something other than EAGAIN/EINTR.</summary>
    void OnReceiveError();
}

/// <summary>
/// The receive loop every datagram backend shares (dgram/socket, vde, l2tpv3): recvmmsg batches
/// until the socket is drained (a short batch, with MSG_DONTWAIT, means drained) or the peer
/// pushes back, delivering each batch before reading the next.
/// </summary>
internal static class DatagramDrain
{
    public static void Run(IDatagramBatchReceiver receiver, int fd, DatagramReceiveBatch batch)
    {
        while (!receiver.IsClosed)
        {
            var n = batch.Receive(fd);
            if (n < 0)
            {
                var errno = Errno.Last;
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno != Errno.EAGAIN)
                {
                    receiver.OnReceiveError();
                }

                return;
            }

            if (!receiver.DeliverBatch(n) || n < batch.Capacity)
            {
                return;
            }
        }
    }
}
