using System.Text;
using Netdevd.Backends.Sockets;
using Netdevd.Native;
using Netdevd.Qapi.Errors;

namespace Netdevd.Backends.Vde;

/// <summary>
/// vde_open as libvdeplug (vdeplug4's vde module, which QEMU links on current Debian) does it
/// for a vde_switch, spoken directly: find the switch directory, connect to its <c>ctl</c>
/// stream socket, bind our data datagram socket beside it, send <see cref="VdeRequest"/>, and
/// connect the data socket to the address the switch answers with. In two parts, as the registry
/// creates netdevs: <see cref="Prepare"/> waits on nothing; <see cref="VdeHandshake"/> does the
/// rest, which waits on the switch.
/// </summary>
internal static class VdeConnector
{
    /// <summary>Where libvdeplug looks for a switch when no sock is given, in order.</summary>
    public static readonly string[] FallbackSwitchDirs = ["/var/run/vde.ctl", "/tmp/vde.ctl"];

    /// <summary>
    /// How long each step of the handshake may wait on the switch's control socket (connect,
    /// request, answer). libvdeplug waits for ever; a switch (or anything bound at its ctl path)
    /// that accepts and never answers would hang netdev_add. The wait holds up only that add
    /// (it runs outside the registry's gate), but its caller deserves an answer. A real switch
    /// answers at once.
    /// </summary>
    internal static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The part of vde_open that waits on nothing outside the process, for the registry's gate:
    /// the switch directory resolved (a local file and realpath) and both sockets made, so their
    /// errors come first as in libvdeplug. The rest is <see cref="VdeHandshake.RunAsync"/>'s.
    /// Throws QEMU's <c>Could not open vde: STRERROR</c> and leaves nothing open then.
    /// </summary>
    public static VdeHandshake Prepare(string? sock, int port, string? group, uint mode, string description)
    {
        var given = ResolveGiven(sock, out var errno);
        if (errno != 0)
        {
            throw Failure(errno);
        }

        string? url = null;
        if (given.Length != 0)
        {
            url = Libc.RealPath(given) ?? throw Failure(Errno.Last);
        }

        // Non-blocking until connected, so that a full backlog answers EAGAIN instead of a wait
        // that nothing but the timeout could end (neither shutdown nor close wakes it).
        var ctl = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, 0);
        if (ctl < 0)
        {
            throw Failure(Errno.Last);
        }

        // Non-blocking for good: a unix datagram bind or connect never waits, and the poll loop wants it so.
        var data = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, 0);
        if (data < 0)
        {
            errno = Errno.Last;
            Descriptors.CloseQuietly(ctl);
            throw Failure(errno);
        }

        errno = SetHandshakeTimeout(ctl);
        if (errno != 0)
        {
            Descriptors.CloseQuietly(ctl);
            Descriptors.CloseQuietly(data);
            throw Failure(errno);
        }

        return new VdeHandshake(url, port, group, mode, description, ctl, data);
    }

    /// <summary>QEMU's error for a port that could not be opened (net_vde_init).</summary>
    internal static QapiException Failure(int errno) => ErrnoText.Error("Could not open vde", errno);

    /// <summary>
    /// The switch path as libvdeplug reads <c>sock</c>: empty means $HOME/.vde2/default.switch
    /// (a symbolic link) when it exists; a regular file holds the path on its first line; a
    /// <c>vde://</c> prefix names this module. Other vdeplug4 modules (vxvde://, tap://...) are
    /// not provided: EPROTONOSUPPORT, as libvdeplug says for a module it cannot load.
    /// </summary>
    private static string ResolveGiven(string? sock, out int errno)
    {
        errno = 0;
        var given = sock ?? "";
        if (given.Length == 0 && Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home)
        {
            try
            {
                var target = new FileInfo(home + "/.vde2/default.switch").LinkTarget;
                if (target is not null)
                {
                    given = target;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        // A regular file names the switch on its first line (lstat, as libvdeplug).
        if (given.Length != 0 && Libc.Stat(given, followLinks: false, out var fileMode, out _, out _) && (fileMode & Libc.S_IFMT) == Libc.S_IFREG)
        {
            try
            {
                using var reader = new StreamReader(given, Encoding.UTF8);
                if (reader.ReadLine() is { } line)
                {
                    given = line;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        var scheme = given.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            if (given.AsSpan(0, scheme).SequenceEqual("vde"))
            {
                return given[(scheme + 3)..];
            }

            errno = 93; // EPROTONOSUPPORT
        }

        return given;
    }

    /// <summary>Bounds the request and the answer on the (then blocking) control socket by <see cref="HandshakeTimeout"/>; 0 or an errno.</summary>
    private static int SetHandshakeTimeout(int ctl) =>
        Libc.SetSocketTimeout(ctl, Libc.SO_RCVTIMEO, HandshakeTimeout) < 0 || Libc.SetSocketTimeout(ctl, Libc.SO_SNDTIMEO, HandshakeTimeout) < 0
            ? Errno.Last
            : 0;

    /// <summary>The path of a sockaddr_un as the switch sent it (up to its NUL).</summary>
    internal static string SunPath(ReadOnlySpan<byte> sockaddr)
    {
        var path = sockaddr.Length > 2 ? sockaddr[2..] : [];
        var end = path.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end >= 0 ? path[..end] : path);
    }
}
