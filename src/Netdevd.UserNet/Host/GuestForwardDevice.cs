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
/// connections to the rule's server:port, one at a time. Bytes the device sends while no guest
/// connection is attached wait (QEMU's guestfwd_can_read answers 0 then); a guest connection
/// closing leaves the device connected for the next one. Each guest connection gets one end of a
/// socket pair, so its flow does the same I/O as any other host socket; this class relays
/// between the pair's other end and the device.
/// </summary>
internal sealed class GuestForwardDevice : IDisposable
{
    private const int BufferSize = 64 * 1024;
    private readonly Socket _device;
    private readonly Lock _gate = new();
    private Socket? _relay;
    private TaskCompletionSource _attached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;

    private GuestForwardDevice(Socket device)
    {
        _device = device;
        _ = DeviceToGuestAsync();
    }

    /// <summary>Whether the device has ended (its peer closed it, or the netdev went away).</summary>
    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
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
    /// The socket a new guest connection uses, or null when another guest connection holds the
    /// device or the device has ended (the guest's connect is then refused).
    /// </summary>
    public Socket? Attach()
    {
        lock (_gate)
        {
            if (_closed || _relay is not null)
            {
                return null;
            }

            if (!Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, out var ours, out var theirs))
            {
                return null;
            }

            var relay = new Socket(new SafeSocketHandle(ours, ownsHandle: true));
            _relay = relay;
            _attached.TrySetResult();
            _ = GuestToDeviceAsync(relay);
            return new Socket(new SafeSocketHandle(theirs, ownsHandle: true));
        }
    }

    public void Dispose()
    {
        Socket? relay;
        lock (_gate)
        {
            _closed = true;
            relay = _relay;
            _relay = null;
            _attached.TrySetResult();
        }

        relay?.Dispose();
        _device.Dispose();
    }

    /// <summary>What the guest connection sends goes to the device; its end detaches it (the device stays).</summary>
    private async Task GuestToDeviceAsync(Socket relay)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int n;
            while ((n = await relay.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false)) > 0)
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
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Detach(relay);
        }
    }

    private void Detach(Socket relay)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_relay, relay))
            {
                _relay = null;
                _attached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        relay.Dispose();
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
            Socket? relay;
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
                    sent += await relay.SendAsync(data[sent..], SocketFlags.None).ConfigureAwait(false);
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
        Socket? relay;
        lock (_gate)
        {
            _closed = true;
            relay = _relay;
        }

        try
        {
            relay?.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }
}
