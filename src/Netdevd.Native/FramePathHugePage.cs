using System.Globalization;
using System.Runtime.CompilerServices;

namespace Netdevd.Native;

/// <summary>
/// Moves the 2 MiB of machine code around the frame path (<see cref="FramePathCode"/>'s span and
/// the runtime's own code beside it) onto one transparent huge page, as HHVM and MySQL remap their
/// hot text: after a sleep, a frame's code then needs one page walk instead of one per 4 KiB page
/// (~30 on a gateway echo), each a two-level walk on a virtual machine. Measured on the gateway
/// ping beside slirp4netns: 1-2 µs per echo (bench/README, session 35).
/// </summary>
/// <remarks>
/// <para>The kernel gives file-backed text huge pages only with CONFIG_READ_ONLY_THP_FOR_FS, which
/// distribution kernels often lack; so the window is copied into an anonymous huge page and moved
/// over the file's mapping with one mremap. The bytes at every address stay the same, so code
/// running on another thread meanwhile (the runtime's, blocked in a system call) is unaffected: a
/// fault on the window waits for the move and finds the copy. The build links the code segment on
/// a 2 MiB boundary (Netdevd.csproj: max-page-size), so the window lies inside it.</para>
/// <para>Every step may be refused (a JIT build, huge pages off or none free, a kernel before 6.1
/// without MADV_COLLAPSE, a policy against executable anonymous memory): then the file's mapping
/// stays as it was and <see cref="TryApply"/> says why. <c>NETDEVD_HUGE_TEXT=0</c> keeps it for
/// tools that find code through the file it is mapped from: uprobes enabled after the start
/// (perf probe, bpftrace, bench/alloc), perf's and valgrind's symbols, strace -k.</para>
/// </remarks>
public static class FramePathHugePage
{
    /// <summary>Set to 0 to keep the code mapped from the file.</summary>
    public const string Variable = "NETDEVD_HUGE_TEXT";

    private const long HugePage = TransparentHugePages.Size;

    private static bool s_applied;

    /// <summary>Whether the window runs from a huge page (set once, at start, before any I/O thread runs).</summary>
    internal static bool Applied => s_applied;

    /// <summary>What the last <see cref="TryApply"/> did.</summary>
    public static string Outcome { get; private set; } = "not tried";

    /// <summary>Whether the code stayed mapped from the file for a reason the host could change (huge pages off or short, a policy): what the daemon logs.</summary>
    public static bool Refused { get; private set; }

    /// <summary>Moves the window onto a huge page once per process; false, with <see cref="Outcome"/> saying why, when it stays as it was.</summary>
    public static bool TryApply()
    {
        if (s_applied)
        {
            return true;
        }

        if (Environment.GetEnvironmentVariable(Variable) == "0")
        {
            Outcome = $"left mapped from the file ({Variable}=0)";
            return false;
        }

        if (RuntimeFeature.IsDynamicCodeCompiled)
        {
            Outcome = "a JIT build: its code is wherever the JIT put it";
            return false;
        }

        var (start, end) = FramePathCode.Bounds;
        if (start == 0)
        {
            Outcome = "the frame path's code span is not laid out in this build";
            return false;
        }

        if (!TransparentHugePages.AreOffered(out var why))
        {
            return Refuse(why);
        }

        var window = (nint)((long)start & ~(HugePage - 1));
        if ((long)end > (long)window + HugePage)
        {
            return Refuse("the frame path's code crosses a 2 MiB boundary");
        }

        if (!InsideOneCodeMapping(window, window + (nint)HugePage, out var fileOffset, out why) || !TryMove(window, fileOffset, out why))
        {
            return Refuse(why);
        }

        s_applied = true;
        Outcome = "the 2 MiB at 0x" + ((long)window).ToString("x", CultureInfo.InvariantCulture) + " run from a huge page";
        return true;
    }

    private static bool Refuse(string why)
    {
        Outcome = why;
        Refused = true;
        return false;
    }

    /// <summary>
    /// Reads the window's bytes from the binary into a fresh anonymous huge page and moves that over
    /// the window. From the file, not from memory: a uprobe (perf probe, bpftrace) or a debugger's
    /// breakpoint is an int3 written into this process's copy of a page, which copied along would
    /// trap with no probe behind it; code that differs from the file is left where it is.
    /// </summary>
    private static unsafe bool TryMove(nint window, long fileOffset, out string why)
    {
        // Twice the size, so that an aligned 2 MiB lies inside wherever the kernel puts it.
        var reserved = Libc.Mmap(0, (nuint)(2 * HugePage), Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        if (reserved == Libc.MapFailed)
        {
            why = "mmap: " + Errno.Message(Errno.Last);
            return false;
        }

        var copy = (nint)(((long)reserved + HugePage - 1) & ~(HugePage - 1));
        var moved = false;
        try
        {
            if (Libc.Madvise(copy, (nuint)HugePage, Libc.MADV_HUGEPAGE) != 0)
            {
                why = "madvise(MADV_HUGEPAGE): " + Errno.Message(Errno.Last);
                return false;
            }

            if (!TryReadFromBinary(new Span<byte>((void*)copy, (int)HugePage), fileOffset, out why))
            {
                return false;
            }

            if (!new ReadOnlySpan<byte>((void*)copy, (int)HugePage).SequenceEqual(new ReadOnlySpan<byte>((void*)window, (int)HugePage)))
            {
                why = "the code in memory differs from the binary's (a uprobe or a debugger's breakpoint in it)";
                return false;
            }

            // The first write faulted a huge page in, or (none free then) small ones, which the
            // collapse replaces with a huge page or fails: the only way to know it is one.
            if (Libc.Madvise(copy, (nuint)HugePage, Libc.MADV_COLLAPSE) != 0)
            {
                why = "no huge page: madvise(MADV_COLLAPSE): " + Errno.Message(Errno.Last);
                return false;
            }

            if (Libc.Mprotect(copy, (nuint)HugePage, Libc.PROT_READ | Libc.PROT_EXEC) != 0)
            {
                why = "mprotect(PROT_EXEC): " + Errno.Message(Errno.Last);
                return false;
            }

            if (Libc.MremapFixed(copy, (nuint)HugePage, (nuint)HugePage, window) != window)
            {
                why = "mremap: " + Errno.Message(Errno.Last);
                return false;
            }

            moved = true;
            why = "";
            return true;
        }
        finally
        {
            // What is left of the reservation: all of it when nothing moved, else both ends.
            if (!moved)
            {
                Libc.Munmap(reserved, (nuint)(2 * HugePage));
            }
            else
            {
                if (copy > reserved)
                {
                    Libc.Munmap(reserved, (nuint)(copy - reserved));
                }

                var tail = copy + (nint)HugePage;
                var reservedEnd = reserved + (nint)(2 * HugePage);
                if (reservedEnd > tail)
                {
                    Libc.Munmap(tail, (nuint)(reservedEnd - tail));
                }
            }
        }
    }

    /// <summary>Fills <paramref name="into"/> from the running binary at <paramref name="offset"/>.</summary>
    private static bool TryReadFromBinary(Span<byte> into, long offset, out string why)
    {
        try
        {
            // The running binary's own inode, even when its path was replaced since.
            using var binary = File.OpenHandle("/proc/self/exe");
            while (!into.IsEmpty)
            {
                var n = RandomAccess.Read(binary, into, offset);
                if (n <= 0)
                {
                    why = "the binary ends inside its own code segment";
                    return false;
                }

                into = into[n..];
                offset += n;
            }

            why = "";
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = "reading /proc/self/exe: " + e.Message;
            return false;
        }
    }

    /// <summary>Whether [from, to) lies inside one readable, executable, private mapping of a file (the binary's code segment), and where <paramref name="from"/> is in that file.</summary>
    private static bool InsideOneCodeMapping(nint from, nint to, out long fileOffset, out string why)
    {
        fileOffset = 0;
        if (!SelfMappings.TryFind(from, out var m))
        {
            why = "the frame path's code is not in /proc/self/maps";
            return false;
        }

        var inside = m.End >= to && m.Permissions == "r-xp" && !m.Anonymous;
        fileOffset = m.FileOffset + (from - m.Start);
        why = inside ? "" : $"the 2 MiB around the frame path are not all code of one file mapping (0x{m.Start:x}-0x{m.End:x} {m.Permissions})";
        return inside;
    }
}
