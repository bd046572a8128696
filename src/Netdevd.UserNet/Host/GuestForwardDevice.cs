using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.UserNet.Nat;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The chardev of a guestfwd rule, as QEMU has it: connected once when the netdev is created
/// (a refused connect fails the netdev with QEMU's two lines), then shared by the guest's
/// connections to the rule's server:port. What any of them sends goes to the device; what the
/// device sends goes to the newest one (libslirp finds the newest socket for server:port). Bytes
/// the device sends while no guest connection is there wait (QEMU's guestfwd_can_read answers 0
/// then); a guest connection closing leaves the device connected for the next one. Each guest
/// connection gets one end of a socket pair, so its flow does the same I/O as any other host
/// socket; this class relays between the pairs' other ends and the device.
/// </summary>
internal sealed class GuestForwardDevice : IDisposable
{
    private const int BufferSize = 64 * 1024;
    private readonly Socket _device;
    private readonly Lock _gate = new();
    private Relay? _relay;
    private TaskCompletionSource _attached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;

    /// <summary>
    /// The netdev's fault containment (set when the netdev takes the device over): a bug in a relay
    /// is counted on the netdev instead of ending its task unobserved.
    /// </summary>
    public Func<Exception, object, bool> ContainFault { get; set; } = static (_, _) => false;

    private GuestForwardDevice(Socket device)
    {
        _device = device;
        _ = DeviceToGuestAsync();
    }

    /// <summary>Connects to the device (blocking, as QEMU's chardev open is); QEMU's errors when it cannot.</summary>
    public static GuestForwardDevice Open(HostTarget.Device target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var (domain, address) = target.Address switch
        {
            IPEndPoint ip => (Libc.AF_INET, SockAddr.Inet(ip)),
            UnixDomainSocketEndPoint => (Libc.AF_UNIX, SockAddr.Unix(target.Display)),
            _ => throw new ArgumentException("a device is an inet or unix address", nameof(target)),
        };
        var fd = Libc.Socket(domain, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0 || Libc.Connect(fd, address) < 0)
        {
            var reason = Errno.Message(Errno.Last);
            if (fd >= 0)
            {
                _ = Libc.Close(fd);
            }

            throw new QapiException($"Could not open guest forwarding device '{target.Name}'")
            {
                PrecedingReport = $"Failed to connect to '{target.Display}': {reason}",
            };
        }

        var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        if (domain == Libc.AF_INET)
        {
            socket.NoDelay = true;
        }

        return new GuestForwardDevice(socket);
    }

    /// <summary>
    /// The socket a new guest connection uses; it becomes the one the device's bytes go to. Null
    /// once the device has ended (the guest's connect is then refused).
    /// </summary>
    public Socket? Attach()
    {
        Relay relay;
        Socket theirs;
        lock (_gate)
        {
            if (_closed || !Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, out var ourFd, out var theirFd))
            {
                return null;
            }

            relay = new Relay(new Socket(new SafeSocketHandle(ourFd, ownsHandle: true)));
            theirs = new Socket(new SafeSocketHandle(theirFd, ownsHandle: true));
            var previous = _relay;
            _relay = relay;
            _attached.TrySetResult();

            // An older connection keeps sending to the device until it ends; one that has ended
            // already was only kept for the device's bytes, which now go to the new one.
            if (previous is { ReadEnded: true })
            {
                previous.Socket.Dispose();
            }
        }

        _ = GuestToDeviceAsync(relay);
        return theirs;
    }

    public void Dispose()
    {
        Relay? relay;
        lock (_gate)
        {
            _closed = true;
            relay = _relay;
            _relay = null;
            _attached.TrySetResult();
        }

        relay?.Socket.Dispose();
        _device.Dispose();
    }

    /// <summary>
    /// What a guest connection sends goes to the device. At its end (the guest closed or
    /// half-closed; a chardev cannot be half-closed, so the device is not told) the newest
    /// connection stays attached for the device's bytes until a newer one comes or a write to it fails.
    /// </summary>
    private async Task GuestToDeviceAsync(Relay relay)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int n;
            while ((n = await relay.Socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false)) > 0)
            {
                for (var sent = 0; sent < n;)
                {
                    sent += await _device.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        catch (Exception e) when (ContainFault(e, this))
        {
            // Counted on the netdev; this connection's relay ends.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            lock (_gate)
            {
                relay.ReadEnded = true;
                if (!ReferenceEquals(_relay, relay))
                {
                    relay.Socket.Dispose();
                }
            }
        }
    }

    private void Detach(Relay relay)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_relay, relay))
            {
                _relay = null;
                _attached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        relay.Socket.Dispose();
    }

    /// <summary>
    /// Reads the device only while a guest connection is attached; bytes read for a connection
    /// that went away meanwhile go to the next one. The device's end is shown to the attached
    /// connection as the end of its stream, and later connects are refused.
    /// </summary>
    private async Task DeviceToGuestAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                await WaitAttachedAsync().ConfigureAwait(false);
                int n;
                try
                {
                    n = await _device.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    n = 0;
                }

                if (n == 0)
                {
                    EndDevice();
                    return;
                }

                if (!await DeliverAsync(buffer.AsMemory(0, n)).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (Exception e) when (ContainFault(e, this))
        {
            // Counted on the netdev; the device is no longer read.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private Task WaitAttachedAsync()
    {
        lock (_gate)
        {
            return _attached.Task;
        }
    }

    /// <summary>Writes to the attached connection, waiting for the next one if it went away; false once closed.</summary>
    private async Task<bool> DeliverAsync(ReadOnlyMemory<byte> data)
    {
        var sent = 0;
        while (true)
        {
            await WaitAttachedAsync().ConfigureAwait(false);
            Relay? relay;
            lock (_gate)
            {
                if (_closed)
                {
                    return false;
                }

                relay = _relay;
            }

            if (relay is null)
            {
                continue;
            }

            try
            {
                while (sent < data.Length)
                {
                    sent += await relay.Socket.SendAsync(data[sent..], SocketFlags.None).ConfigureAwait(false);
                }

                return true;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // That connection ended mid-write: what it did not take goes to the next one.
                Detach(relay);
            }
        }
    }

    private void EndDevice()
    {
        Relay? relay;
        lock (_gate)
        {
            _closed = true;
            relay = _relay;
        }

        try
        {
            relay?.Socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>The relay end of one guest connection's socket pair.</summary>
    private sealed class Relay(Socket socket)
    {
        public Socket Socket { get; } = socket;

        /// <summary>The guest side ended its sending (under the device's gate).</summary>
        public bool ReadEnded { get; set; }
    }
}
