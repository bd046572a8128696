using System.Globalization;
using Netdevd.Native;
using Netdevd.Qapi.Errors;

namespace Netdevd.Backends.Sockets;

/// <summary>
/// The descriptors a netdev may take by number (<c>fd=</c>, <c>fds=</c>, <c>addr.type=fd</c>):
/// only those given to the process on purpose. Any other number is one of the process's own
/// (the runtime's pipes and eventfds, a socket of another netdev); adopting it, or closing it
/// when the netdev fails, breaks the process. The daemon grants what it inherited at start-up
/// (<see cref="GrantInherited"/>, before the runtime opens anything of its own); an embedder
/// grants what it means to hand over. Descriptors passed with <c>getfd</c> are taken from the
/// monitor's store and never pass through here. Each grant is used once: after the netdev has
/// taken it (and closed it with the netdev), the number may be reused by anything.
/// </summary>
public static class GrantedDescriptors
{
    private static readonly Lock Gate = new();
    private static readonly HashSet<int> Granted = [];

    /// <summary>Lets one netdev take <paramref name="fd"/> by number.</summary>
    public static void Grant(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        lock (Gate)
        {
            Granted.Add(fd);
        }
    }

    /// <summary>
    /// Grants every descriptor above standard error that is open without close-on-exec: what a
    /// parent left open for this process on purpose. The runtime opens its own descriptors
    /// close-on-exec, so call this first thing in Main and it sees only inherited ones.
    /// </summary>
    public static IReadOnlyList<int> GrantInherited()
    {
        var found = new List<int>();
        IEnumerable<string> entries;
        try
        {
            entries = Directory.GetFileSystemEntries("/proc/self/fd");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return found;
        }

        foreach (var entry in entries)
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var fd)
                && fd > 2
                && Libc.Fcntl(fd, Libc.F_GETFD, 0) is var flags && flags >= 0 && (flags & Libc.FD_CLOEXEC) == 0)
            {
                found.Add(fd);
                Grant(fd);
            }
        }

        return found;
    }

    /// <summary>
    /// Takes the grant of <paramref name="fd"/> (true), or throws the refusal (nothing is closed).
    /// False: the number is not open at all, so it is nobody's; the netdev's first use of it fails
    /// with EBADF and QEMU's own text for that backend ("Can't use file descriptor ...", "... is
    /// not a socket"), and the caller must not close it.
    /// </summary>
    public static bool Claim(int fd, string given)
    {
        if (TryClaim(fd))
        {
            return true;
        }

        return MayTake(fd) ? false : throw Refusal(fd, given);
    }

    /// <summary>Whether a netdev may use <paramref name="fd"/> by number: granted, or not open at all.</summary>
    public static bool MayTake(int fd) => IsGranted(fd) || (fd > 2 && Libc.Fcntl(fd, Libc.F_GETFD, 0) < 0);

    /// <summary>Takes the grant of <paramref name="fd"/>; false (and nothing closed) when there is none.</summary>
    public static bool TryClaim(int fd)
    {
        lock (Gate)
        {
            return Granted.Remove(fd);
        }
    }

    private static bool IsGranted(int fd)
    {
        lock (Gate)
        {
            return Granted.Contains(fd);
        }
    }

    /// <summary>netdevd's own words: QEMU takes any number and has no text for this.</summary>
    public static QapiException Refusal(int fd, string given) => new(fd <= 2
        ? $"File descriptor '{given}' is netdevd's standard {(fd == 0 ? "input" : fd == 1 ? "output" : "error")}, not a descriptor for a netdev"
        : $"File descriptor '{given}' was not passed to netdevd: leave it open (not close-on-exec) when starting netdevd, or pass it with getfd");
}
