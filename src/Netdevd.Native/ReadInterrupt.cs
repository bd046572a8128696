using System.Runtime.InteropServices;

namespace Netdevd.Native;

/// <summary>
/// A real-time signal whose only effect is to interrupt the blocking system call of the thread it
/// is sent to (the call returns EINTR): how netdevd wakes an I/O thread that waits for its tap in
/// a plain read(2) instead of epoll (IoThread's idle read). The handler must be a native function
/// that does nothing: an ignored or default-ignored signal is discarded before it interrupts
/// anything, and a managed handler is not allowed, since the signal can land while the thread
/// runs managed code, where the runtime fails a reverse P/Invoke fast. libc's getpid is that
/// function: called as a handler it reads the process id and returns, async-signal-safe and
/// without touching errno. Installed once, without SA_RESTART, on the highest real-time signal
/// glibc leaves to programs minus two, only while nothing else in the process handles it.
/// </summary>
public static class ReadInterrupt
{
    /// <summary>Set to 0 to keep every I/O thread waiting in epoll (no idle read, no signal).</summary>
    public const string Variable = "NETDEVD_IDLE_READ";

    /// <summary>The signal, installed on first use (once per process); 0 when it could not be.</summary>
    private static readonly Lazy<int> s_signal = new(Install);

    /// <summary>What <see cref="TryInstall"/> did (for the log and tests).</summary>
    public static string Outcome { get; private set; } = "not tried";

    /// <summary>The signal once installed; 0 before, or when it could not be.</summary>
    public static int Signal => s_signal.IsValueCreated ? s_signal.Value : 0;

    /// <summary>Installs the signal's handler once per process; false, with <see cref="Outcome"/> saying why, when the idle read stays off.</summary>
    public static bool TryInstall() => s_signal.Value != 0;

    private static int Install()
    {
        if (Environment.GetEnvironmentVariable(Variable) == "0")
        {
            Outcome = $"off ({Variable}=0)";
            return 0;
        }

        if (!NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "getpid", out var handler))
        {
            Outcome = "libc's getpid was not found to serve as the handler";
            return 0;
        }

        var signal = Libc.RealTimeSignalMax() - 2;
        var result = Libc.InstallHandlerIfUnused(signal, handler);
        if (result != 0)
        {
            Outcome = result < 0 ? $"signal {signal} is handled by something else in the process" : $"sigaction({signal}): {Errno.Message(result)}";
            return 0;
        }

        Outcome = $"signal {signal}";
        return signal;
    }
}
