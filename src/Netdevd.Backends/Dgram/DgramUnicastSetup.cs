using System.Text;
using Netdevd.Backends.Sockets;
using Netdevd.Native;
using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Dgram;

/// <summary>dgram's unicast modes: an inet pair, a unix pair, or a descriptor.</summary>
internal static class DgramUnicastSetup
{
    public static DgramSocket OpenInet(InetSocketAddress local, InetSocketAddress remote)
    {
        var l = Ipv4HostPort.Convert(local.Host, local.Port);
        var r = Ipv4HostPort.Convert(remote.Host, remote.Port);
        var fd = UdpSockets.CreateBound(l);
        return new DgramSocket(fd, SockAddr.Inet(r), $"udp={Ipv4HostPort.Format(l)}/{Ipv4HostPort.Format(r)}");
    }

    public static DgramSocket OpenUnix(UnixSocketAddress local, UnixSocketAddress remote)
    {
        // As QEMU: the local path is removed first (a stale socket file from an earlier run).
        // abstract/tight are not looked at.
        if (Libc.Unlink(local.Path) < 0 && Errno.Last != Errno.ENOENT)
        {
            throw ErrnoText.Last($"failed to unlink socket {local.Path}");
        }

        // QEMU 9.1 records this error but carries on with a cut path and creates the netdev
        // anyway (and aborts when both are too long); we refuse and create nothing.
        CheckPathLength(local.Path);
        CheckPathLength(remote.Path);

        var fd = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw ErrnoText.Last("can't create datagram socket");
        }

        try
        {
            if (Libc.Bind(fd, SockAddr.Unix(local.Path)) < 0)
            {
                throw ErrnoText.Last($"can't bind unix={local.Path} to socket");
            }

            SetNonBlocking(fd);
            return new DgramSocket(fd, SockAddr.Unix(remote.Path), $"udp={local.Path}:{remote.Path}");
        }
        catch
        {
            Descriptors.CloseQuietly(fd);
            throw;
        }
    }

    /// <summary>A descriptor (number, or getfd name from a monitor); frames are sent with send(), so it must be connected.</summary>
    public static DgramSocket OpenFd(string id, string fdname, IMonitorFdStore? monitor)
    {
        var fd = MonitorFdParam.Take(monitor, fdname);
        var e = Descriptors.TrySetNonBlocking(fd);
        if (e != 0)
        {
            throw ErrnoText.Error($"{id}: Can't use file descriptor {fd}", e);
        }

        // QEMU 9.1 sets this error but still creates the netdev with info "fd=N"; the monitor
        // reports the error, so the user sees a failure: we fail cleanly and close the descriptor.
        var family = LocalAddressType(fd, out var error);
        if (family is null)
        {
            Descriptors.CloseQuietly(fd);
            throw error!;
        }

        return new DgramSocket(fd, null, $"fd={fd} {family}");
    }

    /// <summary>socket_local_address's type name (SocketAddressType_str) for a descriptor.</summary>
    internal static string? LocalAddressType(int fd, out QapiException? error)
    {
        error = null;
        var address = Libc.GetSockName(fd);
        if (address is null)
        {
            error = ErrnoText.Last("Unable to query local socket address");
            return null;
        }

        switch (address.Family)
        {
            case Libc.AF_INET or Libc.AF_INET6:
                return "inet";
            case Libc.AF_UNIX:
                return "unix";
            case Libc.AF_VSOCK:
                return "vsock";
            default:
                error = new QapiException($"socket family {address.Family} unsupported");
                return null;
        }
    }

    private static void CheckPathLength(string path)
    {
        if (Encoding.UTF8.GetByteCount(path) >= SockAddr.UnixPathCapacity)
        {
            throw new QapiException($"UNIX socket path '{path}' is too long");
        }
    }

    private static void SetNonBlocking(int fd)
    {
        var e = Descriptors.TrySetNonBlocking(fd);
        if (e != 0)
        {
            throw ErrnoText.Error("can't set non-blocking mode", e);
        }
    }
}
