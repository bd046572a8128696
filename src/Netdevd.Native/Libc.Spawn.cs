using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    private const short POSIX_SPAWN_SETSID = 0x80;

    /// <summary>
    /// posix_spawn(3) of <paramref name="path"/> with <paramref name="argv"/> and this process's
    /// environment, its standard input and output both <paramref name="stdio"/> (a connected
    /// socket: how inetd, and QEMU's smb, hand a connection to a server) and its standard error
    /// /dev/null. Descriptors marked close-on-exec (all of .NET's) are not inherited. Returns the
    /// child's process id, or -1 with the error number in <paramref name="error"/>. The child starts
    /// a session of its own (as libslirp's fork_exec does): smbd signals its whole process group
    /// when it ends, which must not be netdevd's.
    /// </summary>
    public static unsafe int SpawnWithStdio(string path, IReadOnlyList<string> argv, int stdio, out int error)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(argv);
        var environment = Environment.GetEnvironmentVariables();
        var envStrings = new List<string>(environment.Count);
        foreach (System.Collections.DictionaryEntry e in environment)
        {
            envStrings.Add($"{e.Key}={e.Value}");
        }

        var args = new nint[argv.Count + 1];
        var env = new nint[envStrings.Count + 1];
        // posix_spawn_file_actions_t is 80 bytes in glibc (x86-64 and arm64); room to spare.
        var actions = stackalloc byte[256];
        // posix_spawnattr_t is 336 bytes in glibc.
        var attributes = stackalloc byte[512];
        var initialised = false;
        var attributesInitialised = false;
        try
        {
            for (var i = 0; i < argv.Count; i++)
            {
                args[i] = Marshal.StringToCoTaskMemUTF8(argv[i]);
            }

            for (var i = 0; i < envStrings.Count; i++)
            {
                env[i] = Marshal.StringToCoTaskMemUTF8(envStrings[i]);
            }

            error = posix_spawn_file_actions_init(actions);
            if (error != 0)
            {
                return -1;
            }

            initialised = true;
            error = posix_spawnattr_init(attributes);
            if (error != 0)
            {
                return -1;
            }

            attributesInitialised = true;
            error = posix_spawnattr_setflags(attributes, POSIX_SPAWN_SETSID);
            if (error == 0)
            {
                error = posix_spawn_file_actions_adddup2(actions, stdio, 0);
            }
            if (error == 0)
            {
                error = posix_spawn_file_actions_adddup2(actions, stdio, 1);
            }

            if (error == 0)
            {
                error = posix_spawn_file_actions_addopen(actions, 2, "/dev/null", O_WRONLY, 0);
            }

            if (error != 0)
            {
                return -1;
            }

            int pid;
            fixed (nint* a = args)
            fixed (nint* e = env)
            {
                error = posix_spawn(&pid, path, actions, attributes, a, e);
            }

            return error == 0 ? pid : -1;
        }
        finally
        {
            if (initialised)
            {
                _ = posix_spawn_file_actions_destroy(actions);
            }

            if (attributesInitialised)
            {
                _ = posix_spawnattr_destroy(attributes);
            }

            foreach (var p in args)
            {
                if (p != 0)
                {
                    Marshal.FreeCoTaskMem(p);
                }
            }

            foreach (var p in env)
            {
                if (p != 0)
                {
                    Marshal.FreeCoTaskMem(p);
                }
            }
        }
    }

    [LibraryImport(Library)]
    private static unsafe partial int posix_spawn_file_actions_init(byte* actions);

    [LibraryImport(Library)]
    private static unsafe partial int posix_spawn_file_actions_destroy(byte* actions);

    [LibraryImport(Library)]
    private static unsafe partial int posix_spawn_file_actions_adddup2(byte* actions, int fd, int newfd);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int posix_spawn_file_actions_addopen(byte* actions, int fd, string path, int oflag, uint mode);

    [LibraryImport(Library)]
    private static unsafe partial int posix_spawnattr_init(byte* attributes);

    [LibraryImport(Library)]
    private static unsafe partial int posix_spawnattr_destroy(byte* attributes);

    [LibraryImport(Library)]
    private static unsafe partial int posix_spawnattr_setflags(byte* attributes, short flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int posix_spawn(int* pid, string path, byte* actions, byte* attrp, nint* argv, nint* envp);
}
