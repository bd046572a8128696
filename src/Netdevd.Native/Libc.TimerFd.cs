using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int CLOCK_MONOTONIC = 1;
    public const int TFD_NONBLOCK = 0x800;
    public const int TFD_CLOEXEC = 0x80000;

    /// <summary>timerfd_create(2): a timer that is a descriptor, readable once it expired.</summary>
    public static int TimerFdCreate(int clock, int flags) => timerfd_create(clock, flags);

    /// <summary>
    /// timerfd_settime(2) with a relative, one-shot expiry <paramref name="nanoseconds"/> from now
    /// (0 disarms the timer, as the kernel reads a zero expiry).
    /// </summary>
    public static unsafe int TimerFdSetRelative(int fd, long nanoseconds)
    {
        var spec = new TimerSpec
        {
            ValueSeconds = nanoseconds / 1_000_000_000,
            ValueNanoseconds = nanoseconds % 1_000_000_000,
        };
        return timerfd_settime(fd, 0, &spec, null);
    }

    /// <summary>struct itimerspec: the interval (0: one-shot) and the expiry, each a struct timespec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TimerSpec
    {
        public long IntervalSeconds;
        public long IntervalNanoseconds;
        public long ValueSeconds;
        public long ValueNanoseconds;
    }

    [LibraryImport(Library, SetLastError = true)]
    private static partial int timerfd_create(int clockid, int flags);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int timerfd_settime(int fd, int flags, TimerSpec* newValue, TimerSpec* oldValue);
}
