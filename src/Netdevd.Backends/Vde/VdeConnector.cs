using System.Globalization;
using System.Text;
using Netdevd.Backends.Sockets;
using Netdevd.Native;
using Netdevd.Qapi.Errors;

namespace Netdevd.Backends.Vde;

/// <summary>
/// vde_open as libvdeplug (vdeplug4's vde module, which QEMU links on current Debian) does it
/// for a vde_switch, spoken directly: find the switch directory, connect to its <c>ctl</c>
/// stream socket, bind our data datagram socket beside it, send <see cref="VdeRequest"/>, and
/// connect the data socket to the address the switch answers with.
/// </summary>
internal static class VdeConnector
{
    /// <summary>Where libvdeplug looks for a switch when no sock is given, in order.</summary>
    public static readonly string[] FallbackSwitchDirs = ["/var/run/vde.ctl", "/tmp/vde.ctl"];

    /// <summary>Where the data socket goes when the switch directory does not take it.</summary>
    private static readonly string[] FallbackDataDirs = ["/var/run", "/var/tmp", "/tmp"];

    /// <summary>
    /// How long the handshake may wait on the switch's control socket (connect, request, answer).
    /// libvdeplug waits for ever; a switch (or anything bound at its ctl path) that accepts and
    /// never answers would hang netdev_add, which holds the registry for every monitor.
    /// A real switch answers at once.
    /// </summary>
    internal static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Opens a port, or throws QEMU's <c>Could not open vde: STRERROR</c>.</summary>
    public static VdeConnection Open(string? sock, int port, string? group, uint mode, string description)
    {
        var errno = TryOpen(sock, port, group, mode, description, out var connection);
        return errno == 0 ? connection : throw ErrnoText.Error("Could not open vde", errno);
    }

    /// <summary>0 and the connection, or the errno libvdeplug would leave.</summary>
    public static int TryOpen(string? sock, int port, string? group, uint mode, string description, out VdeConnection connection)
    {
        connection = default;
        var given = ResolveGiven(sock, out var errno);
        if (errno != 0)
        {
            return errno;
        }

        string? url = null;
        if (given.Length != 0)
        {
            url = Libc.RealPath(given);
            if (url is null)
            {
                return Errno.Last;
            }
        }

        var ctl = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (ctl < 0)
        {
            return Errno.Last;
        }

        var data = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (data < 0)
        {
            errno = Errno.Last;
            Descriptors.CloseQuietly(ctl);
            return errno;
        }

        errno = SetHandshakeTimeout(ctl);
        if (errno != 0)
        {
            Descriptors.CloseQuietly(ctl);
            Descriptors.CloseQuietly(data);
            return errno;
        }

        string? dataPath = null;
        errno = Handshake(ctl, data, url, port, group, mode, description, ref dataPath);
        if (dataPath is not null)
        {
            // Once connected the switch holds our socket itself; the name is not needed (vdeplug4 removes it too).
            _ = Libc.Unlink(dataPath);
        }

        if (errno != 0)
        {
            Descriptors.CloseQuietly(ctl);
            Descriptors.CloseQuietly(data);
            return errno;
        }

        var e = Descriptors.TrySetNonBlocking(data);
        if (e != 0)
        {
            Descriptors.CloseQuietly(ctl);
            Descriptors.CloseQuietly(data);
            return e;
        }

        connection = new VdeConnection(ctl, data);
        return 0;
    }

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

    private static int Handshake(int ctl, int data, string? url, int port, string? group, uint mode, string description, ref string? dataPath)
    {
        // Connect to the switch's control socket: the given directory's ctl, else the fallbacks.
        string? switchDir = null;
        var errno = Errno.ENOENT;
        foreach (var dir in url is null ? FallbackSwitchDirs : [url])
        {
            if (Libc.Connect(ctl, SockAddr.Unix(dir + "/ctl")) == 0)
            {
                switchDir = dir;
                break;
            }

            errno = TimedOutAsEtimedout(Errno.Last);
        }

        if (switchDir is null)
        {
            return errno;
        }

        // Our data socket: "<switch dir>/.PID-NNNNN", else in the fallback directories.
        dataPath = BindData(data, switchDir, out errno);
        if (dataPath is null)
        {
            return errno;
        }

        if (group is not null)
        {
            var gid = Libc.GroupId(group) ?? (uint)CStyleAtoi(group);
            if (Libc.ChangeGroup(dataPath, gid) < 0)
            {
                return Errno.Last;
            }
        }

        else if ((mode & 0x3f) == 0
            && Libc.Stat(switchDir + "/ctl", followLinks: true, out _, out var ctlUid, out var ctlGid)
            && ctlUid != 0 && ctlUid != Libc.GetEffectiveUserId())
        {
            // A switch of another (non-root) user could not send to a 0700 socket: share it with
            // the switch's group if we may, else with everyone (libvdeplug's rule).
            mode |= Libc.ChangeGroup(dataPath, ctlGid) == 0 ? 0x38u : 0x3fu;
        }

        _ = Libc.ChangeMode(dataPath, mode);
        var request = VdeRequest.Build(port, dataPath, description);
        if (Libc.Write(ctl, request) < 0)
        {
            return TimedOutAsEtimedout(Errno.Last);
        }

        Span<byte> reply = stackalloc byte[VdeRequest.SockAddrUnSize];
        var n = Libc.Read(ctl, reply);
        if (n < 0)
        {
            // EAGAIN from a blocking socket is SO_RCVTIMEO running out: the switch never answered.
            return TimedOutAsEtimedout(Errno.Last);
        }

        if (n == 0)
        {
            // The switch closed the control connection: it refused the port (taken, or not allowed).
            return Errno.ECONNREFUSED;
        }

        var switchData = SockAddr.FromBytes(reply[..(int)n]);
        if (Libc.Connect(data, switchData) < 0)
        {
            return Errno.Last;
        }

        if (SunPath(reply[..(int)n]) is { Length: > 0 } switchDataPath)
        {
            _ = Libc.ChangeMode(switchDataPath, mode);
        }

        return 0;
    }

    /// <summary>Bounds every blocking call on the control socket by <see cref="HandshakeTimeout"/>; 0 or an errno.</summary>
    private static int SetHandshakeTimeout(int ctl) =>
        Libc.SetSocketTimeout(ctl, Libc.SO_RCVTIMEO, HandshakeTimeout) < 0 || Libc.SetSocketTimeout(ctl, Libc.SO_SNDTIMEO, HandshakeTimeout) < 0
            ? Errno.Last
            : 0;

    /// <summary>EAGAIN from the blocking control socket is its timeout running out (a switch that never answers, or whose backlog stays full).</summary>
    private static int TimedOutAsEtimedout(int errno) => errno == Errno.EAGAIN ? Errno.ETIMEDOUT : errno;

    private static string? BindData(int data, string switchDir, out int errno)
    {
        var pid = Environment.ProcessId;
        errno = Errno.ENOENT;
        foreach (var (dir, prefix) in Candidates(switchDir))
        {
            for (var sockno = 0; ; sockno++)
            {
                var path = string.Create(CultureInfo.InvariantCulture, $"{dir}/{prefix}{pid:D5}-{sockno:D5}");
                if (Libc.Bind(data, SockAddr.Unix(path)) == 0)
                {
                    errno = 0;
                    return path;
                }

                errno = Errno.Last;
                if (errno != Errno.EADDRINUSE)
                {
                    break;
                }
            }
        }

        return null;
    }

    private static IEnumerable<(string Dir, string Prefix)> Candidates(string switchDir)
    {
        yield return (switchDir, ".");
        foreach (var dir in FallbackDataDirs)
        {
            yield return (dir, "vde.");
        }
    }

    internal static string SunPath(ReadOnlySpan<byte> sockaddr)
    {
        var path = sockaddr.Length > 2 ? sockaddr[2..] : [];
        var end = path.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end >= 0 ? path[..end] : path);
    }

    /// <summary>atoi: leading digits (after optional blanks and sign), 0 when none.</summary>
    private static int CStyleAtoi(string text)
    {
        var s = text.AsSpan().TrimStart();
        var sign = 1;
        if (s.Length > 0 && (s[0] == '-' || s[0] == '+'))
        {
            sign = s[0] == '-' ? -1 : 1;
            s = s[1..];
        }

        var end = 0;
        while (end < s.Length && char.IsAsciiDigit(s[end]))
        {
            end++;
        }

        return end == 0 ? 0 : sign * (int)Math.Min(long.Parse(s[..end], CultureInfo.InvariantCulture), int.MaxValue);
    }
}
