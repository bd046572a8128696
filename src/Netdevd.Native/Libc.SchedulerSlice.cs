using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    private const int SCHED_OTHER = 0;
    private const int SCHED_BATCH = 3;
    private const ulong SCHED_FLAG_RESET_ON_FORK = 0x01;

    /// <summary>
    /// Asks the scheduler for time slices of <paramref name="nanoseconds"/> for the calling thread
    /// (sched_setattr's sched_runtime, which Linux 6.12+ takes as a fair task's custom slice and
    /// clamps to 0.1-100 ms; older kernels accept and ignore it). Only a thread under SCHED_OTHER or
    /// SCHED_BATCH is changed, and its policy, nice value and reset-on-fork flag are kept as they
    /// are (read first): a thread someone made real-time or idle stays so. 0, or -errno.
    /// </summary>
    public static int SetOwnSchedulerSlice(long nanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nanoseconds);
        var attr = default(SchedAttr);
        var got = GetOwnSchedAttr(ref attr);
        if (got != 0)
        {
            return got;
        }

        if (attr.Policy is not (SCHED_OTHER or SCHED_BATCH))
        {
            return 0;
        }

        attr.Size = (uint)Marshal.SizeOf<SchedAttr>();
        attr.Flags &= SCHED_FLAG_RESET_ON_FORK; // kept as set; the clamp flags would need their values too
        attr.Runtime = (ulong)nanoseconds;
        attr.Deadline = attr.Period = 0;
        unsafe
        {
            var r = syscall(SyscallNumber(314, 274), 0, (nint)(&attr), 0);
            return r < 0 ? -Errno.Last : 0;
        }
    }

    /// <summary>The calling thread's slice as sched_getattr reports it (sched_runtime: the custom slice, or on 6.18 the default one; 0 on kernels without EEVDF slices), or -errno.</summary>
    public static long GetOwnSchedulerSlice()
    {
        var attr = default(SchedAttr);
        var got = GetOwnSchedAttr(ref attr);
        return got != 0 ? got : (long)attr.Runtime;
    }

    private static unsafe int GetOwnSchedAttr(ref SchedAttr attr)
    {
        fixed (SchedAttr* p = &attr)
        {
            var r = syscall6(SyscallNumber(315, 275), 0, (nint)p, Marshal.SizeOf<SchedAttr>(), 0, 0);
            return r < 0 ? -Errno.Last : 0;
        }
    }

    /// <summary>struct sched_attr (linux/sched/types.h), its 56-byte first version with the utilization clamps.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SchedAttr
    {
        public uint Size;
        public uint Policy;
        public ulong Flags;
        public int Nice;
        public uint Priority;
        public ulong Runtime;
        public ulong Deadline;
        public ulong Period;
        public uint UtilMin;
        public uint UtilMax;
    }
}
