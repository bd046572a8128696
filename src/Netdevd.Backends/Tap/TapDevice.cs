using Netdevd.Backends.Sockets;
using Netdevd.Native;
using Netdevd.Qapi.Errors;

namespace Netdevd.Backends.Tap;

/// <summary>
/// Opening and configuring a Linux tap (QEMU's net/tap-linux.c): /dev/net/tun, TUNSETIFF with
/// IFF_TAP|IFF_NO_PI (+ONE_QUEUE, VNET_HDR, MULTI_QUEUE), and the ioctls for the header size,
/// offloads and send buffer. Errors carry QEMU's texts.
/// </summary>
public static class TapDevice
{
    /// <summary>The virtio-net header offloads netdevd turns on when the far end keeps headers.</summary>
    public const int OffloadsWithHeaders = Tun.TUN_F_CSUM | Tun.TUN_F_TSO4 | Tun.TUN_F_TSO6 | Tun.TUN_F_TSO_ECN;

    /// <summary>
    /// tap_open: returns the non-blocking descriptor and the interface name the kernel chose;
    /// <paramref name="vnetHdr"/> comes in as wanted and goes out as obtained.
    /// </summary>
    public static int Open(string ifname, ref bool vnetHdr, bool vnetHdrRequired, bool multiQueue, out string actualName)
    {
        var fd = Libc.Open(Tun.DevicePath, Libc.O_RDWR | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw ErrnoText.Last($"could not open {Tun.DevicePath}");
        }

        try
        {
            Span<byte> word = stackalloc byte[4];
            var features = Libc.IoctlBuffer(fd, Tun.TUNGETFEATURES, word) == 0 ? BitConverter.ToInt32(word) : 0;
            var flags = (short)(Tun.IFF_TAP | Tun.IFF_NO_PI);
            if ((features & Tun.IFF_ONE_QUEUE) != 0)
            {
                flags |= Tun.IFF_ONE_QUEUE;
            }

            if (vnetHdr)
            {
                vnetHdr = (features & Tun.IFF_VNET_HDR) != 0;
                if (vnetHdr)
                {
                    flags |= Tun.IFF_VNET_HDR;
                }
                else if (vnetHdrRequired)
                {
                    throw new QapiException("vnet_hdr=1 requested, but no kernel support for IFF_VNET_HDR available");
                }
            }

            if (multiQueue)
            {
                if ((features & Tun.IFF_MULTI_QUEUE) == 0)
                {
                    throw new QapiException("multiqueue required, but no kernel support for IFF_MULTI_QUEUE available");
                }

                flags |= Tun.IFF_MULTI_QUEUE;
            }

            Span<byte> ifr = stackalloc byte[Tun.IfReqSize];
            ifr.Clear();
            Tun.SetName(ifr, ifname.Length > 0 ? ifname : "tap%d");
            Tun.SetFlags(ifr, flags);
            if (Libc.IoctlBuffer(fd, Tun.TUNSETIFF, ifr) != 0)
            {
                var errno = Errno.Last;
                throw ifname.Length > 0
                    ? ErrnoText.Error($"could not configure {Tun.DevicePath} ({Tun.GetName(ifr)})", errno)
                    : ErrnoText.Error($"could not configure {Tun.DevicePath}", errno);
            }

            actualName = Tun.GetName(ifr);
            if (vnetHdr)
            {
                SetHeaderSize(fd);
            }

            _ = Descriptors.TrySetNonBlocking(fd);
            return fd;
        }
        catch
        {
            Descriptors.CloseQuietly(fd);
            throw;
        }
    }

    /// <summary>tap_probe_vnet_hdr: whether a given tap descriptor was opened with IFF_VNET_HDR.</summary>
    public static bool ProbeVnetHeader(int fd)
    {
        Span<byte> ifr = stackalloc byte[Tun.IfReqSize];
        ifr.Clear();
        if (Libc.IoctlBuffer(fd, Tun.TUNGETIFF, ifr) != 0)
        {
            throw ErrnoText.Last($"Unable to query TUNGETIFF on FD {fd}");
        }

        return (Tun.GetFlags(ifr) & Tun.IFF_VNET_HDR) != 0;
    }

    /// <summary>The interface name of a tap descriptor (for scripts), or null.</summary>
    public static string? GetName(int fd)
    {
        Span<byte> ifr = stackalloc byte[Tun.IfReqSize];
        ifr.Clear();
        return Libc.IoctlBuffer(fd, Tun.TUNGETIFF, ifr) == 0 ? Tun.GetName(ifr) : null;
    }

    /// <summary>
    /// TUNSETVNETHDRSZ to the 12-byte header netdevd's clients exchange (QEMU resets to 10 and
    /// lets virtio-net switch to 12; here the far end is never a guest, so 12 from the start).
    /// </summary>
    public static void SetHeaderSize(int fd)
    {
        Span<byte> word = stackalloc byte[4];
        BitConverter.TryWriteBytes(word, Core.Clients.NetClient.VnetHeaderSize);
        _ = Libc.IoctlBuffer(fd, Tun.TUNSETVNETHDRSZ, word);
    }

    /// <summary>TUNSETOFFLOAD: which offloaded frames the kernel may hand us. Returns 0 or an errno.</summary>
    public static int SetOffloads(int fd, int offloads) =>
        Libc.IoctlValue(fd, Tun.TUNSETOFFLOAD, offloads) == 0 ? 0 : Errno.Last;

    /// <summary>tap_set_sndbuf: INT_MAX unless given; a failure is an error only when it was given.</summary>
    public static void SetSendBuffer(int fd, ulong? sndbuf)
    {
        var value = sndbuf is { } given && given != 0 ? (int)Math.Min(given, int.MaxValue) : int.MaxValue;
        Span<byte> word = stackalloc byte[4];
        BitConverter.TryWriteBytes(word, value);
        if (Libc.IoctlBuffer(fd, Tun.TUNSETSNDBUF, word) != 0 && sndbuf is not null)
        {
            throw ErrnoText.Last("TUNSETSNDBUF ioctl failed");
        }
    }
}
