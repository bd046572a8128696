using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Netdevd.Native;
using Netdevd.Run;

namespace Netdevd.Personalities;

/// <summary>
/// passt and pasta go to the background once they serve: the process their caller started exits
/// 0 only then (libvirt fails the start otherwise), and the daemon lives on. .NET cannot fork,
/// so the first process starts netdevd again as the daemon and waits on a socket pair: text on
/// it is the daemon's start-up errors (printed on the caller's stderr), a NUL byte means ready.
/// The daemon never holds the caller's stdout or stderr (its own are pipes to the first process,
/// replaced at once by the log file or /dev/null): libvirt reads those pipes to their end.
/// </summary>
internal static class Background
{
    private const string ChannelVariable = "NETDEVD_BACKGROUND_CHANNEL_FD";
    private static Stream? _channel;

    /// <summary>True in the daemon that <see cref="StartAndWait"/> started.</summary>
    public static bool IsDaemon => Environment.GetEnvironmentVariable(ChannelVariable) is not null;

    /// <summary>Where start-up errors go: the caller's stderr, relayed by the first process in the daemon.</summary>
    public static TextWriter Errors { get; private set; } = Console.Error;

    /// <summary>Starts the daemon (<c>netdevd PERSONALITY ARGS</c>) and waits until it is ready or gone.</summary>
    public static int StartAndWait(string personality, IReadOnlyList<string> args)
    {
        if (!Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, out var ours, out var theirs))
        {
            Console.Error.WriteLine($"{personality}: socketpair: {Errno.Message(Errno.Last)}");
            return 1;
        }

        using var channel = new SafeFileHandle(ours, ownsHandle: true);
        Process daemon;
        try
        {
            _ = Libc.SetCloseOnExec(theirs, false);
            var command = SelfCommand.Get();
            var start = new ProcessStartInfo(command[0])
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var a in command.Skip(1))
            {
                start.ArgumentList.Add(a);
            }

            start.ArgumentList.Add(personality);
            foreach (var a in args)
            {
                start.ArgumentList.Add(a);
            }

            start.Environment[ChannelVariable] = theirs.ToString(CultureInfo.InvariantCulture);
            daemon = Process.Start(start) ?? throw new Win32Exception();
        }
        catch (Win32Exception e)
        {
            Console.Error.WriteLine($"{personality}: could not start the daemon: {e.Message}");
            return 1;
        }
        finally
        {
            _ = Libc.Close(theirs);
        }

        using (daemon)
        {
            var buffer = new byte[4096];
            var stderr = Console.OpenStandardError();
            while (true)
            {
                var n = Libc.Read((int)channel.DangerousGetHandle(), buffer);
                if (n < 0 && Errno.Last == Errno.EINTR)
                {
                    continue;
                }

                if (n <= 0)
                {
                    break;
                }

                var chunk = buffer.AsSpan(0, (int)n);
                var ready = chunk.IndexOf((byte)0);
                stderr.Write(ready < 0 ? chunk : chunk[..ready]);
                if (ready >= 0)
                {
                    stderr.Flush();
                    return 0;
                }
            }

            stderr.Flush();
            daemon.WaitForExit();
            return daemon.ExitCode == 0 ? 1 : daemon.ExitCode;
        }
    }

    /// <summary>
    /// First thing in the daemon: a session of its own, stdin from /dev/null, stdout and stderr
    /// (logs) to <paramref name="logFile"/> or /dev/null, and <see cref="Errors"/> to the first
    /// process. False, with the reason on <see cref="Errors"/>, when the log file cannot be opened.
    /// </summary>
    public static bool EnterDaemon(string program, string? logFile)
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable(ChannelVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var fd))
        {
            return false;
        }

        Environment.SetEnvironmentVariable(ChannelVariable, null);
        _ = Libc.SetCloseOnExec(fd, true);
        _channel = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, 1);
        Errors = new StreamWriter(_channel, new UTF8Encoding(false)) { AutoFlush = true };
        _ = Libc.SetSid();
        var log = logFile is null
            ? Libc.Open("/dev/null", Libc.O_WRONLY | Libc.O_CLOEXEC)
            : Libc.Open(logFile, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_APPEND | Libc.O_CLOEXEC, 0x180);
        if (log < 0)
        {
            Errors.WriteLine($"{program}: {logFile}: {Errno.Message(Errno.Last)}");
            return false;
        }

        var devNull = Libc.Open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (devNull >= 0)
        {
            _ = Libc.Dup2(devNull, 0);
            _ = Libc.Close(devNull);
        }

        _ = Libc.Dup2(log, 1);
        _ = Libc.Dup2(log, 2);
        _ = Libc.Close(log);

        // .NET's Console.Out and Console.Error write to dups of fds 1 and 2 taken on first use
        // (Background.Errors' default took them already): they would still write to the pipes of
        // the first process, which has exited, and the log file would stay empty. New writers
        // dup the fds as they are now.
        Console.SetOut(new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true });
        Console.SetError(new StreamWriter(Console.OpenStandardError(), new UTF8Encoding(false)) { AutoFlush = true });
        return true;
    }

    /// <summary>In the daemon, once it serves: lets the first process exit 0.</summary>
    public static void SignalReady()
    {
        if (_channel is null)
        {
            return;
        }

        _channel.WriteByte(0);
        _channel.Dispose();
        _channel = null;
        Errors = Console.Error;
    }
}
