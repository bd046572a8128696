using System.Runtime.Intrinsics.X86;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// The warm-up of the frame path's code (FramePathCode.Touch): which lines it reads (the first, and
/// the first of each further page, whose translations a prefetch might not bring in) and which it
/// only prefetches; a build without the laid-out span touches nothing.
/// </summary>
public sealed class FramePathCodeTests : IDisposable
{
    private const int Page = 4096;
    private const int Pages = 3;

    /// <summary>Pages of their own (mmap's are page-aligned), zero-filled and readable.</summary>
    private readonly nint _memory = Libc.Mmap(0, Pages * Page, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);

    public FramePathCodeTests() => Assert.NotEqual(Libc.MapFailed, _memory);

    public void Dispose() => Libc.Munmap(_memory, Pages * Page);

    /// <summary>Every line is read where there is no prefetch instruction to ask with.</summary>
    private static int Expected(int reads, nint start, nint end) => Sse.IsSupported ? reads : (int)((end - start + 63) / 64);

    [Fact]
    public void On_small_pages_the_first_line_of_each_page_is_read_and_the_rest_prefetched()
    {
        var end = _memory + (Pages * Page);
        Assert.Equal(Expected(Pages, _memory, end), FramePathCode.Touch(_memory, end, Page));
    }

    [Fact]
    public void On_one_huge_page_only_the_first_line_is_read()
    {
        var end = _memory + (Pages * Page);
        Assert.Equal(Expected(1, _memory, end), FramePathCode.Touch(_memory, end, TransparentHugePages.Size));
    }

    [Fact]
    public void A_span_that_starts_inside_a_page_reads_its_first_line_and_each_page_it_enters()
    {
        var start = _memory + (5 * 64);
        var end = _memory + Page + 128;
        Assert.Equal(Expected(2, start, end), FramePathCode.Touch(start, end, Page));
    }

    [Fact]
    public void An_empty_span_touches_nothing()
    {
        Assert.Equal(0, FramePathCode.Touch(_memory, _memory, Page));

        // This test host is a JIT build: its code is not laid out, so the warm-up has no span to
        // read (were the span's bounds wrong, reading them would fault the test host).
        FramePathCode.Touch();
    }
}
