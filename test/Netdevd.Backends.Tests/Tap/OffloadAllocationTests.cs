using Netdevd.Backends.VirtioNet;
using Netdevd.Wire;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>
/// DESIGN.md's datapath rule for the tap's offload code: segmenting a super-frame, completing a
/// checksum and merging a run (software GRO) allocate nothing per frame. The counter is the
/// calling thread's, so other tests running beside this one do not disturb it.
/// </summary>
public sealed class OffloadAllocationTests
{
    [Fact]
    public void Segmentation_completion_and_coalescing_do_not_allocate()
    {
        var scratch = new byte[70000];
        var sink = new CountingSink();
        var gro = new TcpCoalescer();
        var v4 = Partial(false, 20000);
        var v6 = Partial(true, 20000);
        var v4Header = new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoTcpV4, 54, 1448, 34, 16);
        var v6Header = new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoTcpV6, 74, 1428, 54, 16);
        var csumOnly = new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, 0, 0, 0, 34, 16);
        var segments = new List<byte[]>();
        var collect = new CollectingSink();
        _ = SoftwareOffload.Resolve(v4Header, Partial(false, 20000), scratch, collect);
        segments.AddRange(collect.Frames);

        void Round()
        {
            _ = SoftwareOffload.Resolve(v4Header, v4, scratch, sink);
            _ = SoftwareOffload.Resolve(v6Header, v6, scratch, sink);
            _ = SoftwareOffload.Resolve(csumOnly, v4.AsSpan(0, 34 + 20 + 1000), scratch, sink);
            foreach (var segment in segments)
            {
                if (gro.Offer(segment) != CoalesceResult.Taken)
                {
                    sink.OnSegment(gro.Held().ToArray());
                }
            }

            sink.Count += gro.Held().Length;
            gro.Clear();
        }

        Round();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 200; i++)
        {
            Round();
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(sink.Count > 200 * 28, $"{sink.Count}");
        Assert.Equal(201, gro.Merged);
        Assert.Equal(0, allocated);
    }

    private static byte[] Partial(bool ipv6, int length)
    {
        var frame = OffloadFrames.Tcp(ipv6, OffloadFrames.Payload(length), 1, push: true);
        OffloadFrames.MakePartial(frame, ipv6, OffloadFrames.L4Offset(ipv6), 16, 6);
        return frame;
    }

    private sealed class CountingSink : ISegmentSink
    {
        public int Count { get; set; }

        public void OnSegment(Span<byte> frame) => Count += frame.Length > 0 ? 1 : 0;
    }
}
