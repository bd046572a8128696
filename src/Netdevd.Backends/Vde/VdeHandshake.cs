using System.Globalization;
using Netdevd.Backends.Sockets;
using Netdevd.Native;

namespace Netdevd.Backends.Vde;

/// <summary>
/// A vde port being opened: its two sockets, made under the registry's gate by
/// <see cref="VdeConnector.Prepare"/>, and the handshake with the switch (connect to its ctl
/// socket, bind our data socket beside it, send <see cref="VdeRequest"/>, connect the data socket
/// to the address the switch answers with), which waits on the switch and so runs outside the
/// gate, on a thread of its own: its calls block, each bounded by <see cref="VdeConnector.HandshakeTimeout"/>.
/// </summary>
/// <remarks>
/// The sockets belong to the netdev's client from its creation and close with it; the handshake
/// only uses them, and the client is not closed before <see cref="RunAsync"/> has ended.
/// </remarks>
internal sealed class VdeHandshake(string? switchDir, int port, string? group, uint mode, string description, int controlFd, int dataFd)
{
    /// <summary>Where the data socket goes when the switch directory does not take it.</summary>
    private static readonly string[] FallbackDataDirs = ["/var/run", "/var/tmp", "/tmp"];

    /// <summary>How often a connect that met a full backlog tries again (and looks for cancellation).</summary>
    private static readonly TimeSpan BacklogRetry = TimeSpan.FromMilliseconds(50);

    /// <summary>The switch directory, canonical; null to try <see cref="VdeConnector.FallbackSwitchDirs"/>.</summary>
    private string? SwitchDir { get; } = switchDir;

    private int Port { get; } = port;

    private string? Group { get; } = group;

    private uint Mode { get; } = mode;

    private string Description { get; } = description;

    /// <summary>The stream to the switch's ctl socket (blocking once connected, with the handshake timeouts); closing it frees the port.</summary>
    public int ControlFd { get; } = controlFd;

    /// <summary>The non-blocking datagram socket that the handshake binds and connects to the switch's data socket.</summary>
    public int DataFd { get; } = dataFd;

    /// <summary>
    /// Runs the handshake; throws QEMU's <c>Could not open vde: STRERROR</c>, or
    /// <see cref="OperationCanceledException"/> promptly once <paramref name="cancellationToken"/> fires.
    /// </summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken cancellationToken)
    {
        int errno;
        string? dataPath = null;

        // Cancelling shuts the control socket down, which wakes a blocked write or read (and
        // fails any later one). It is never closed here: this thread may be using the number.
        // Disposing the registration waits for a callback under way, so past it the shutdown
        // has either happened (the token says so) or never will.
        using (cancellationToken.UnsafeRegister(static fd => _ = Libc.Shutdown((int)fd!, Libc.SHUT_RDWR), ControlFd))
        {
            errno = Handshake(cancellationToken, ref dataPath);
        }

        if (dataPath is not null)
        {
            // Once connected the switch holds our socket itself; the name is not needed (vdeplug4 removes it too).
            _ = Libc.Unlink(dataPath);
        }

        // Even after a handshake that worked: a shut-down control socket has given the port up.
        cancellationToken.ThrowIfCancellationRequested();
        if (errno != 0)
        {
            throw VdeConnector.Failure(errno);
        }
    }

    /// <summary>
    /// The handshake proper, blocking: 0 or the errno libvdeplug would leave.
    /// <paramref name="dataPath"/> is where the data socket got bound, for the caller to remove
    /// whatever the outcome.
    /// </summary>
    private int Handshake(CancellationToken cancellationToken, ref string? dataPath)
    {
        var ctl = ControlFd;
        var switchDir = ConnectControl(ctl, SwitchDir, cancellationToken, out var errno);
        if (switchDir is null)
        {
            return errno;
        }

        // Blocking from here: the request and the answer wait at most HandshakeTimeout each
        // (SO_SNDTIMEO, SO_RCVTIMEO), or until cancellation shuts the socket down.
        errno = Libc.TrySetBlocking(ctl);
        if (errno != 0)
        {
            return errno;
        }

        // Our data socket: "<switch dir>/.PID-NNNNN", else in the fallback directories.
        var data = DataFd;
        dataPath = BindData(data, switchDir, out errno);
        if (dataPath is null)
        {
            return errno;
        }

        var mode = Mode;
        if (Group is { } group)
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
        var request = VdeRequest.Build(Port, dataPath, Description);
        // A socket with a timeout is not restarted after a signal handler (signal(7)), even with
        // SA_RESTART, and the runtime's signals (SIGCHLD, say) may land on this thread: try again.
        nint n;
        while ((n = Libc.Write(ctl, request)) < 0 && Errno.Last == Errno.EINTR && !cancellationToken.IsCancellationRequested)
        {
        }

        if (n < 0)
        {
            return TimedOutAsEtimedout(Errno.Last);
        }

        Span<byte> reply = stackalloc byte[VdeRequest.SockAddrUnSize];
        while ((n = Libc.Read(ctl, reply)) < 0 && Errno.Last == Errno.EINTR && !cancellationToken.IsCancellationRequested)
        {
        }

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

        if (VdeConnector.SunPath(reply[..(int)n]) is { Length: > 0 } switchDataPath)
        {
            _ = Libc.ChangeMode(switchDataPath, mode);
        }

        return 0;
    }

    /// <summary>
    /// Connects to the switch's control socket: the given directory's ctl, else the fallbacks
    /// (the last one's errno when none takes it). A full backlog (the switch does not accept) is
    /// waited out as a blocking connect would, up to <see cref="VdeConnector.HandshakeTimeout"/>,
    /// but in steps that cancellation ends (ECANCELED): shutting the socket down would not wake a
    /// blocked connect. The directory connected to, or null.
    /// </summary>
    private static string? ConnectControl(int ctl, string? url, CancellationToken cancellationToken, out int errno)
    {
        errno = Errno.ENOENT;
        foreach (var dir in url is null ? VdeConnector.FallbackSwitchDirs : [url])
        {
            var address = SockAddr.Unix(dir + "/ctl");
            var deadline = Environment.TickCount64 + (long)VdeConnector.HandshakeTimeout.TotalMilliseconds;
            while (true)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    errno = Errno.ECANCELED;
                    return null;
                }

                if (Libc.Connect(ctl, address) == 0)
                {
                    return dir;
                }

                errno = Errno.Last;
                if (errno != Errno.EAGAIN)
                {
                    break;
                }

                if (Environment.TickCount64 >= deadline)
                {
                    errno = Errno.ETIMEDOUT;
                    break;
                }

                _ = cancellationToken.WaitHandle.WaitOne(BacklogRetry);
            }
        }

        return null;
    }

    /// <summary>EAGAIN from the blocking control socket is its timeout running out (a switch that never answers).</summary>
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
