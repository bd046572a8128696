using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using Netdevd.Native;

namespace Netdevd.Qmp.Session;

/// <summary>
/// The byte stream of one QMP client. On unix sockets reads go through recvmsg so that
/// descriptors sent with SCM_RIGHTS reach the session's <see cref="QmpMonitor"/>; readiness
/// comes from a zero-byte receive on the .NET socket, so no thread blocks in the kernel.
/// </summary>
internal sealed class QmpConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly QmpMonitor _monitor;
    private readonly bool _passesDescriptors;
    private readonly List<SafeFileHandle> _batch = [];

    public QmpConnection(Socket socket, QmpMonitor monitor)
    {
        _socket = socket;
        _monitor = monitor;
        _passesDescriptors = socket.AddressFamily == AddressFamily.Unix && OperatingSystem.IsLinux();
    }

    /// <summary>A description for logs (the peer address).</summary>
    public string Peer
    {
        get
        {
            try
            {
                return _socket.RemoteEndPoint?.ToString() is { Length: > 0 } s ? s : _socket.AddressFamily.ToString();
            }
            catch (ObjectDisposedException)
            {
                return "closed";
            }
        }
    }

    /// <summary>Reads what is there (at least one byte), 0 at end of stream.</summary>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!_passesDescriptors)
        {
            return await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }

        while (true)
        {
            var n = ReceiveWithDescriptors(buffer.Span);
            if (n >= 0)
            {
                return n;
            }

            // Nothing there yet: wait for readability without consuming anything.
            await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether the client has closed its end for good. Only a unix socket tells (POLLHUP: the
    /// peer is gone); a client that only shut down its sending side, as a script piping one
    /// command does, still waits for its answer. A TCP peer's close looks like such a shutdown,
    /// so TCP says false.
    /// </summary>
    public bool PeerClosed()
    {
        if (_socket.AddressFamily != AddressFamily.Unix || !OperatingSystem.IsLinux())
        {
            return false;
        }

        var added = false;
        try
        {
            _socket.SafeHandle.DangerousAddRef(ref added);
            Span<PollFd> fds = [new PollFd { Fd = (int)_socket.SafeHandle.DangerousGetHandle() }];
            return Libc.Poll(fds, 0) > 0 && (fds[0].Revents & Libc.POLLHUP) != 0;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
        finally
        {
            if (added)
            {
                _socket.SafeHandle.DangerousRelease();
            }
        }
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var n = await _socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[n..];
        }
    }

    /// <summary>Stops both directions so that pending reads and writes end.</summary>
    public void Shutdown()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose() => _socket.Dispose();

    /// <returns>Bytes read, 0 at end of stream, -1 when nothing is available yet.</returns>
    private int ReceiveWithDescriptors(Span<byte> buffer)
    {
        while (true)
        {
            var n = UnixRights.Receive(_socket.SafeHandle, buffer, _batch, Libc.MSG_DONTWAIT);
            if (n >= 0)
            {
                if (_batch.Count > 0)
                {
                    // SCM_RIGHTS keeps the sender's O_NONBLOCK; QEMU clears it too.
                    foreach (var fd in _batch)
                    {
                        Libc.SetBlocking(fd);
                    }

                    _monitor.OnDescriptorsReceived(_batch);
                    _batch.Clear();
                }

                return (int)n;
            }

            var errno = Errno.Last;
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (errno == Errno.EAGAIN)
            {
                return -1;
            }

            throw new IOException($"recvmsg: {Errno.Message(errno)}");
        }
    }
}
