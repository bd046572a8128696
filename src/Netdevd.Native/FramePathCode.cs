using System.Runtime.CompilerServices;

namespace Netdevd.Native;

/// <summary>
/// The frame path's machine code in the NativeAOT build: the methods src/Netdevd/aot-order.txt
/// lays out side by side, between <see cref="Start"/> (first in the file) and <see cref="End"/>
/// (last). <see cref="Touch"/> reads one byte of each of its cache lines when a thread wakes from
/// a sleep, so that the pages' translations and the lines are fetched together rather than one
/// after another as the frame runs into them (see Core's HotObjects for the data). A byte per page
/// only (the translations alone) measured 1 µs of the 3-4 that a byte per line saves.
/// </summary>
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

    /// <summary>Reads a byte of every cache line of the span (~650; nothing in a JIT build, whose code is elsewhere).</summary>
    public static unsafe void Touch()
    {
        var (start, end) = s_span;
        var sum = 0;
        for (var line = start; line < end; line += LineSize)
        {
            sum += *(byte*)line;
        }

        s_sink = sum;
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
