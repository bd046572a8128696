using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Netdevd.Native;

/// <summary>
/// The frame path's machine code in the NativeAOT build: the methods src/Netdevd/aot-order.txt
/// lays out side by side, between <see cref="Start"/> (first in the file) and <see cref="End"/>
/// (last). <see cref="Touch"/> asks for each of its cache lines when a thread wakes from a sleep,
/// so that the lines are fetched together rather than one after another as the frame runs into
/// them (see Core's HotObjects for the data).
/// </summary>
/// <remarks>
/// The lines are prefetched, not read: ~650 reads that miss hold the thread until the last of them
/// returns, before the frame's first instruction, while prefetches retire at once and the lines
/// stream in as the frame path runs. Measured on a gateway ping beside slirp4netns, paired, seven
/// runs of 40-60 rounds: the median difference +0.5 µs prefetched against +2.4 read (prefetched
/// ahead in six of the seven; bench/README, session 38). A prefetch that misses the TLB may be
/// dropped, so the translations are still read, the first line of each page: of each 4 KiB page, or
/// only the first line when the span runs from one huge page (<see cref="FramePathHugePage"/>).
/// A byte per page alone (the translations without the lines) measured 1 µs of the 3-4 that the
/// lines save (session 29).
/// </remarks>
public static class FramePathCode
{
    /// <summary>More than the ordered methods ever took (~40 KiB): a bound in case the layout was not applied.</summary>
    private const long MaxSpan = 256 * 1024;

    private const int PageSize = 4096;

    private const int LineSize = 64;

    private static readonly (nint Start, nint End) s_span = Span();

    private static int s_sink;

    /// <summary>The span's first page and its end (both 0 when there is no span): what <see cref="FramePathHugePage"/> moves.</summary>
    internal static (nint Start, nint End) Bounds => s_span;

    /// <summary>Asks for every cache line of the span (~650; nothing in a JIT build, whose code is elsewhere).</summary>
    public static void Touch()
    {
        var (start, end) = s_span;
        // On the huge page one translation covers every line.
        _ = Touch(start, end, FramePathHugePage.Applied ? TransparentHugePages.Size : PageSize);
    }

    /// <summary>
    /// Asks for every cache line of [<paramref name="start"/>, <paramref name="end"/>): the first
    /// line and the first of each further page of <paramref name="pageSize"/> bytes are read (their
    /// translations come in for certain), the others prefetched; without x86's prefetch every line
    /// is read. Returns how many lines were read.
    /// </summary>
    public static unsafe int Touch(nint start, nint end, long pageSize)
    {
        var sum = 0;
        var reads = 0;
        for (var line = start; line < end; line += LineSize)
        {
            if (!Sse.IsSupported || line == start || (line & (nint)(pageSize - 1)) == 0)
            {
                sum += *(byte*)line;
                reads++;
            }
            else
            {
                Sse.Prefetch0((void*)line);
            }
        }

        s_sink = sum;
        return reads;
    }

    /// <summary>The ordered span's first page and its end; empty unless both markers are code of this binary in the order the file asks.</summary>
    private static unsafe (nint Start, nint End) Span()
    {
        // A JIT build's methods are wherever the JIT put them, with unmapped memory between.
        if (RuntimeFeature.IsDynamicCodeCompiled)
        {
            return default;
        }

        var start = (nint)(delegate*<int>)&Start;
        var end = (nint)(delegate*<int>)&End;
        return end > start && end - start <= MaxSpan ? (start & ~(nint)(PageSize - 1), end) : default;
    }

    /// <summary>The first method of the ordered span (never called; distinct from <see cref="End"/> so the build cannot fold the two).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Start() => 0x5354;

    /// <summary>The last method of the ordered span.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int End() => 0x454e;
}
