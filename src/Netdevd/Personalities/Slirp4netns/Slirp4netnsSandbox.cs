using System.Collections;
using System.Globalization;
using Netdevd.Native;
using Netdevd.Run;

namespace Netdevd.Personalities.Slirp4netns;

/// <summary>
/// slirp4netns's <c>--enable-sandbox</c> for a multi-threaded process. slirp4netns (one thread)
/// unshares a mount namespace, pivots into a tmpfs holding /etc and /run and drops every
/// capability but CAP_NET_BIND_SERVICE. In .NET the runtime's threads exist before Main, and
/// mount namespaces, roots and capabilities are per thread, so doing that in place would confine
/// one thread. Instead, once the tap and the API socket are open, one thread builds the sandbox
/// for itself and execs netdevd again inside it (same process id, the other threads end) with
/// the two descriptors: every thread of the serving process is then born confined. Besides /etc
/// and /run the sandbox holds, read-only, what running netdevd needs: /usr, the program's and
/// the runtime's directories, and a /proc that shows processes only.
/// </summary>
internal static class Slirp4netnsSandbox
{
    /// <summary>Set for the confined process: "TAPFD:APIFD" (APIFD -1 without --api-socket).</summary>
    public const string StageVariable = "NETDEVD_SLIRP4NETNS_SANDBOX";

    /// <summary>Set for the process that builds the sandbox as root of the target's user namespace: "TAPFD:APIFD".</summary>
    public const string BuildVariable = "NETDEVD_SLIRP4NETNS_SANDBOX_BUILD";

    private const string Staging = "/tmp";
    private const int OPath = 0x200000;

    /// <summary>The descriptors handed to the confined process, or null in the caller's process.</summary>
    // Only a process that came through Enter runs with no_new_privs: a caller's variable is refused.
    public static (int TapFd, int ApiFd)? Handed() => TakeDescriptors(StageVariable, confined: true);

    /// <summary>
    /// The descriptors handed to the process that is to build the sandbox inside the target's
    /// user namespace (a non-root caller, rootlesskit's case), or null.
    /// </summary>
    public static (int TapFd, int ApiFd)? ToBuild() => TakeDescriptors(BuildVariable, confined: false);

    /// <summary>"TAP:API" from <paramref name="variable"/>, which is removed so no child inherits it.</summary>
    private static (int TapFd, int ApiFd)? TakeDescriptors(string variable, bool confined)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (value is null)
        {
            return null;
        }

        Environment.SetEnvironmentVariable(variable, null);
        var parts = value.Split(':');
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var tap)
            && int.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var api)
            && (!confined || Libc.Prctl(Libc.PR_GET_NO_NEW_PRIVS, 0, 0) == 1)
            ? (tap, api)
            : throw new PersonalityUsageException($"{Slirp4netnsCommandLine.Program}: {variable} is netdevd's own and was not set by netdevd");
    }

    /// <summary>
    /// Not root: as slirp4netns, become root of the target's user namespace first (the only
    /// place an unprivileged caller may make a mount namespace), by exec'ing netdevd under
    /// nsenter (joining a user namespace takes a single-threaded process). Returns only on failure.
    /// </summary>
    public static string EnterUserNamespace(IReadOnlyList<string> args, int tapFd, int apiFd, string usernsPath)
    {
        var nsenter = FindInPath("nsenter");
        if (nsenter is null)
        {
            return "--enable-sandbox: nsenter (util-linux) is not in PATH";
        }

        var argv = new List<string> { nsenter, "--user=" + usernsPath, "--" };
        argv.AddRange(SelfCommand.Get());
        argv.Add(Slirp4netnsCommandLine.Program);
        argv.AddRange(args);
        return Exec(argv, BuildVariable, tapFd, apiFd, binds: null);
    }

    private static string? FindInPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// Builds the sandbox and execs <paramref name="args"/> (slirp4netns's command line) inside
    /// it with <paramref name="tapFd"/> and <paramref name="apiFd"/>. Returns only on failure, with why.
    /// </summary>
    public static string Enter(IReadOnlyList<string> args, int tapFd, int apiFd)
    {
        var argv = new List<string>(SelfCommand.Get()) { Slirp4netnsCommandLine.Program };
        argv.AddRange(args);
        return Exec(argv, StageVariable, tapFd, apiFd, Binds(argv[0]));
    }

    /// <summary>Execs <paramref name="argv"/> with the descriptors named in <paramref name="variable"/>; inside a new sandbox when <paramref name="binds"/> are given.</summary>
    private static string Exec(List<string> argv, string variable, int tapFd, int apiFd, List<(string Path, bool Exec)>? binds)
    {
        var environment = new List<string>();
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            environment.Add($"{e.Key}={e.Value}");
        }

        environment.Add(string.Create(CultureInfo.InvariantCulture, $"{variable}={tapFd}:{apiFd}"));
        foreach (var fd in new[] { tapFd, apiFd })
        {
            if (fd >= 0 && Libc.SetCloseOnExec(fd, false) < 0)
            {
                return $"--enable-sandbox: fcntl: {Errno.Message(Errno.Last)}";
            }
        }

        if (binds is null)
        {
            _ = Libc.ExecVe(argv[0], argv, environment);
            return $"--enable-sandbox: cannot run {argv[0]}: {Errno.Message(Errno.Last)}";
        }

        var error = "--enable-sandbox: the sandbox thread ended without a word";
        // Its own thread: unshare(CLONE_NEWNS) and pivot_root move only the calling thread here.
        var thread = new Thread(() => error = BuildAndExec(argv, environment, binds)) { Name = "slirp4netns sandbox" };
        thread.Start();
        thread.Join();
        return error;
    }

    /// <summary>What the sandbox shows, read-only: (path, may execute).</summary>
    private static List<(string Path, bool Exec)> Binds(string program)
    {
        var binds = new List<(string, bool)> { ("/etc", false), ("/run", false), ("/usr", true) };
        // slirp4netns's bind_escaped_resolv_conf: a resolv.conf that links outside /etc and /run.
        var resolv = Libc.RealPath("/etc/resolv.conf");
        if (resolv is not null && !Under(resolv, "/etc") && !Under(resolv, "/run") && !Under(resolv, "/usr"))
        {
            binds.Add((resolv, false));
        }

        // The .NET installation the apphost starts from (DOTNET_ROOT: host/fxr and
        // shared/Microsoft.NETCore.App/VERSION, where the framework's deps file lies); none under NativeAOT.
        var runtime = AppContext.GetData("FX_DEPS_FILE") is string deps && Path.GetDirectoryName(deps) is { } framework
            ? Path.GetFullPath(Path.Combine(framework, "..", "..", ".."))
            : null;
        foreach (var dir in new[] { Path.GetDirectoryName(program), AppContext.BaseDirectory.TrimEnd('/'), runtime })
        {
            if (!string.IsNullOrEmpty(dir) && Libc.RealPath(dir) is { } real && !binds.Exists(b => Under(real, b.Item1)))
            {
                binds.Add((real, true));
            }
        }

        return binds;
    }

    private static bool Under(string path, string dir) =>
        path == dir || path.StartsWith(dir + "/", StringComparison.Ordinal);

    private static string BuildAndExec(List<string> argv, List<string> environment, List<(string Path, bool Exec)> binds)
    {
        if (Libc.Unshare(Libc.CLONE_NEWNS) < 0)
        {
            return $"--enable-sandbox: cannot unshare a new mount namespace: {Errno.Message(Errno.Last)}";
        }

        const ulong Locked = Libc.MS_NOSUID | Libc.MS_NODEV;
        if (Fail(Libc.Mount(null, "/", null, Libc.MS_REC | Libc.MS_PRIVATE, null), "cannot make / private") is { } e1)
        {
            return e1;
        }

        // Opened before the tmpfs covers /tmp, so a source under /tmp stays reachable, and after
        // the unshare: a bind's source must be a mount of the caller's namespace.
        var sources = new List<(int Fd, string Path, bool Exec, bool IsDirectory)>();
        foreach (var (path, exec) in binds)
        {
            var fd = Libc.Open(path, OPath | Libc.O_CLOEXEC);
            if (fd < 0)
            {
                return $"--enable-sandbox: {path}: {Errno.Message(Errno.Last)}";
            }

            sources.Add((fd, path, exec, Directory.Exists(path)));
        }

        if (Fail(Libc.Mount("tmpfs", Staging, "tmpfs", Locked | Libc.MS_NOEXEC, "size=1m,mode=755"), $"cannot mount a tmpfs on {Staging}") is { } e2)
        {
            return e2;
        }

        foreach (var (fd, path, exec, isDirectory) in sources)
        {
            var target = Staging + path;
            if (isDirectory)
            {
                Directory.CreateDirectory(target);
            }
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Create(target).Dispose();
            }

            var source = string.Create(CultureInfo.InvariantCulture, $"/proc/self/fd/{fd}");
            if ((Fail(Libc.Mount(source, target, null, Libc.MS_BIND | Libc.MS_REC, null), $"cannot bind {path}")
                ?? ReadOnly(target, exec)) is { } e3)
            {
                return e3;
            }

            _ = Libc.Close(fd);
        }

        // /lib, /bin ... as the host has them: links into /usr (merged /usr) or more binds.
        foreach (var top in new[] { "/lib", "/lib64", "/bin", "/sbin" })
        {
            var info = new FileInfo(top);
            if (info.LinkTarget is { } link)
            {
                File.CreateSymbolicLink(Staging + top, link);
            }
            else if (Directory.Exists(top))
            {
                Directory.CreateDirectory(Staging + top);
                if ((Fail(Libc.Mount(top, Staging + top, null, Libc.MS_BIND | Libc.MS_REC, null), $"cannot bind {top}")
                    ?? ReadOnly(Staging + top, exec: true)) is { } e5)
                {
                    return e5;
                }
            }
        }

        // The runtime reads /proc/self at start: a new proc that shows processes and nothing else,
        // or where this namespace may not mount one (a user namespace), the existing one.
        Directory.CreateDirectory(Staging + "/proc");
        if (Libc.Mount("proc", Staging + "/proc", "proc", Locked | Libc.MS_NOEXEC | Libc.MS_RDONLY, "subset=pid,hidepid=invisible") < 0
            && Libc.Mount("proc", Staging + "/proc", "proc", Locked | Libc.MS_NOEXEC | Libc.MS_RDONLY, null) < 0
            && Fail(Libc.Mount("/proc", Staging + "/proc", null, Libc.MS_BIND | Libc.MS_REC, null), "cannot mount /proc") is { } e6)
        {
            return e6;
        }

        Directory.CreateDirectory(Staging + "/old");
        if ((Fail(Libc.Chdir(Staging), $"cannot chdir to {Staging}")
            ?? Fail(Libc.PivotRoot(".", "old"), $"cannot pivot_root to {Staging}")
            ?? Fail(Libc.Chdir("/"), "cannot chdir to /")
            ?? Fail(Libc.Umount2("/old", Libc.MNT_DETACH), "cannot umount /old")) is { } e7)
        {
            return e7;
        }

        Directory.Delete("/old");
        // As slirp4netns: a failure to make the root read-only is not fatal (its #163).
        _ = Libc.Mount("tmpfs", "/", "tmpfs", Libc.MS_REMOUNT | Libc.MS_RDONLY | Locked | Libc.MS_NOEXEC, "size=1m,mode=755");

        if ((Fail(Libc.Prctl(Libc.PR_SET_NO_NEW_PRIVS, 1, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
            ?? Fail(Libc.Prctl(Libc.PR_CAP_AMBIENT, Libc.PR_CAP_AMBIENT_CLEAR_ALL, 0), "prctl(PR_CAP_AMBIENT_CLEAR_ALL)")) is { } e8)
        {
            return e8;
        }

        for (nuint cap = 0; ; cap++)
        {
            if (cap == Libc.CAP_NET_BIND_SERVICE)
            {
                continue;
            }

            if (Libc.Prctl(Libc.PR_CAPBSET_DROP, cap, 0) < 0)
            {
                if (Errno.Last == Errno.EINVAL)
                {
                    break;
                }

                return $"--enable-sandbox: prctl(PR_CAPBSET_DROP): {Errno.Message(Errno.Last)}";
            }
        }

        if (Fail(Libc.SetOwnCapabilities(1UL << Libc.CAP_NET_BIND_SERVICE), "capset") is { } e9)
        {
            return e9;
        }

        _ = Libc.ExecVe(argv[0], argv, environment);
        return $"--enable-sandbox: cannot run {argv[0]} inside the sandbox: {Errno.Message(Errno.Last)}";
    }

    /// <summary>
    /// A bind and every mount below it (/run/netns, a resolv.conf bound into /etc ...) read-only
    /// and without devices or set-uid; slirp4netns's remount reaches only the top one, which is
    /// where older kernels without mount_setattr stay.
    /// </summary>
    private static string? ReadOnly(string target, bool exec)
    {
        var attributes = Libc.MOUNT_ATTR_RDONLY | Libc.MOUNT_ATTR_NOSUID | Libc.MOUNT_ATTR_NODEV | (exec ? 0 : Libc.MOUNT_ATTR_NOEXEC);
        if (Libc.SetMountAttributesRecursive(target, attributes) == 0)
        {
            return null;
        }

        var flags = Libc.MS_NOSUID | Libc.MS_NODEV | (exec ? 0 : Libc.MS_NOEXEC);
        return Errno.Last == Errno.ENOSYS
            ? Fail(Libc.Mount(null, target, null, Libc.MS_REMOUNT | Libc.MS_BIND | Libc.MS_RDONLY | flags, null), $"cannot make {target} read-only")
            : Fail(-1, $"cannot make {target} read-only");
    }

    private static string? Fail(int result, string what) =>
        result < 0 ? $"--enable-sandbox: {what}: {Errno.Message(Errno.Last)}" : null;
}
