using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Netdevd.Native;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// Messages over a connected unix stream socket, with descriptors (SCM_RIGHTS). Reads block: the
/// channel belongs to one thread that does nothing but serve it. A message is its header (the
/// descriptors ride on it) and then exactly its payload; a wrong version or a payload larger than
/// <see cref="VhostUserHeader.MaxPayloadSize"/> is refused before any payload is read.
/// </summary>
public sealed class VhostUserChannel : IDisposable
{
    /// <summary>The buffer a message needs: header plus the largest payload.</summary>
    public const int BufferSize = VhostUserHeader.Size + VhostUserHeader.MaxPayloadSize;

    private readonly Socket _socket;
    private readonly byte[] _out = new byte[BufferSize];
    private bool _disposed;

    public VhostUserChannel(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _socket = socket;
    }

    public Socket Socket => _socket;

    /// <summary>errno of the last failed call.</summary>
    public int LastErrno { get; private set; }

    /// <summary>
    /// Reads one message into <paramref name="buffer"/> (at least <see cref="BufferSize"/>);
    /// descriptors that came with it are added to <paramref name="fds"/>, which the caller owns
    /// (and must dispose, also on failure). <paramref name="length"/> is header plus payload.
    /// </summary>
    public VhostUserReceiveStatus Receive(byte[] buffer, List<SafeFileHandle> fds, out int length)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer.Length, BufferSize);
        length = 0;
        var status = ReadFully(buffer.AsSpan(0, VhostUserHeader.Size), fds, atStart: true);
        if (status != VhostUserReceiveStatus.Message)
        {
            return status;
        }

        VhostUserHeader.TryRead(buffer, out var header);
        if (!header.HasValidVersion || header.PayloadSize > VhostUserHeader.MaxPayloadSize)
        {
            return VhostUserReceiveStatus.Malformed;
        }

        var size = (int)header.PayloadSize;
        if (size > 0)
        {
            status = ReadFully(buffer.AsSpan(VhostUserHeader.Size, size), fds, atStart: false);
            if (status != VhostUserReceiveStatus.Message)
            {
                return status == VhostUserReceiveStatus.Closed ? VhostUserReceiveStatus.Malformed : status;
            }
        }

        length = VhostUserHeader.Size + size;
        return VhostUserReceiveStatus.Message;
    }

    /// <summary>Sends one message (header built here) with <paramref name="fds"/>; false when the socket failed.</summary>
    public bool Send(VhostUserRequest request, uint flags, ReadOnlySpan<byte> payload, ReadOnlySpan<SafeHandle> fds = default)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payload.Length, VhostUserHeader.MaxPayloadSize);
        var total = VhostUserHeader.Size + payload.Length;
        lock (_out)
        {
            if (_disposed)
            {
                // Another thread (the session's, when the far end left) closed the socket.
                LastErrno = Errno.EBADF;
                return false;
            }

            VhostUserHeader.Write(_out, request, flags, payload.Length);
            payload.CopyTo(_out.AsSpan(VhostUserHeader.Size));
            var sent = 0;
            while (sent < total)
            {
                var n = UnixRights.Send(_socket.SafeHandle, _out.AsSpan(sent, total - sent), sent == 0 ? fds : default, 0);
                if (n < 0)
                {
                    if (Errno.Last == Errno.EINTR)
                    {
                        continue;
                    }

                    LastErrno = Errno.Last;
                    return false;
                }

                sent += (int)n;
            }

            return true;
        }
    }

    /// <summary>Sends a reply to <paramref name="request"/> (the reply flag set).</summary>
    public bool Reply(VhostUserRequest request, ReadOnlySpan<byte> payload) => Send(request, VhostUserHeader.ReplyFlag, payload);

    /// <summary>Sends a REPLY_ACK: a u64 0 for success, non-zero for failure.</summary>
    public bool ReplyAck(VhostUserRequest request, bool success)
    {
        Span<byte> value = stackalloc byte[VhostUserU64.Size];
        VhostUserU64.Write(value, success ? 0UL : 1UL);
        return Reply(request, value);
    }

    /// <summary>Shuts the socket down both ways, waking a thread blocked in <see cref="Receive"/>.</summary>
    public void Shutdown()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Not connected any more: nothing to wake.
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }
    }

    /// <summary>Closes the socket; a send racing with it fails instead of throwing.</summary>
    public void Dispose()
    {
        lock (_out)
        {
            _disposed = true;
            _socket.Dispose();
        }
    }

    private VhostUserReceiveStatus ReadFully(Span<byte> destination, List<SafeFileHandle> fds, bool atStart)
    {
        var read = 0;
        while (read < destination.Length)
        {
            var n = UnixRights.Receive(_socket.SafeHandle, destination[read..], fds, 0);
            if (n < 0)
            {
                if (Errno.Last == Errno.EINTR)
                {
                    continue;
                }

                LastErrno = Errno.Last;
                return VhostUserReceiveStatus.Failed;
            }

            if (n == 0)
            {
                return atStart && read == 0 ? VhostUserReceiveStatus.Closed : VhostUserReceiveStatus.Malformed;
            }

            read += (int)n;
        }

        return VhostUserReceiveStatus.Message;
    }
}
