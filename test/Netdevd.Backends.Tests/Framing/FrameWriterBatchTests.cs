using System.Net.Sockets;
using Netdevd.Backends.Framing;

namespace Netdevd.Backends.Tests.Framing;

/// <summary>Coalescing within a sender's batch: many frames, one write, the same bytes.</summary>
public sealed class FrameWriterBatchTests
{
    [Fact]
    public void Appended_frames_leave_in_one_write_with_the_exact_bytes()
    {
        var (a, b) = FrameWriterTests.Pair();
        using (a)
        using (b)
        {
            a.Blocking = false;
            using var w = new FrameWriter();
            var fd = (int)a.SafeHandle.DangerousGetHandle();
            var sent = Enumerable.Range(0, 40).Select(i => FrameReassemblerTests.Frame(60 + (i * 37), i)).ToList();
            foreach (var f in sent)
            {
                Assert.Equal(WriteOutcome.Written, w.Append(fd, f));
            }

            Assert.Equal(0, w.WriteCalls);
            Assert.Equal(sent.Sum(f => 4 + f.Length), w.PendingBytes);

            Assert.Equal(WriteOutcome.Written, w.FlushPending(fd));
            Assert.Equal(1, w.WriteCalls);
            Assert.False(w.HasPending);

            a.Shutdown(SocketShutdown.Send);
            var frames = FrameWriterTests.ReadAllFrames(b, []);
            Assert.Equal(sent, frames);
        }
    }

    [Fact]
    public void A_full_buffer_is_written_before_more_is_taken_and_order_holds_with_direct_writes()
    {
        var (a, b) = FrameWriterTests.Pair();
        using (a)
        using (b)
        {
            a.Blocking = false;
            a.SendBufferSize = 8192;
            using var w = new FrameWriter(capacity: 80 * 1024);
            var fd = (int)a.SafeHandle.DangerousGetHandle();
            var sent = new List<byte[]>();
            var received = new List<byte>();
            for (var i = 0; i < 300; i++)
            {
                // Mostly small frames (appended), now and then a large one (written directly behind them).
                var f = FrameReassemblerTests.Frame(i % 50 == 0 ? 30000 : 1514, i);
                WriteOutcome o;
                while ((o = i % 3 == 0 ? w.Write(fd, f) : w.Append(fd, f)) == WriteOutcome.Blocked)
                {
                    FrameWriterTests.Drain(b, received);
                }

                Assert.NotEqual(WriteOutcome.Failed, o);
                Assert.True(w.PendingBytes <= 80 * 1024);
                sent.Add(f);
            }

            while (w.FlushPending(fd) == WriteOutcome.Blocked)
            {
                FrameWriterTests.Drain(b, received);
            }

            a.Shutdown(SocketShutdown.Send);
            Assert.Equal(sent, FrameWriterTests.ReadAllFrames(b, received));
        }
    }
}
