using Netdevd.Native;

namespace Netdevd.Backends.Tests.Dgram;

/// <summary>sendmmsg batches: several datagrams with one call, each arriving as it was appended.</summary>
public sealed class DatagramSendBatchTests
{
    [Fact]
    public void Appended_frames_leave_with_one_call_as_separate_datagrams()
    {
        Assert.True(Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_DGRAM, 0, out var a, out var b));
        try
        {
            using var batch = new DatagramSendBatch(8192, 4, destination: null);
            var frames = Enumerable.Range(0, 5).Select(i => Enumerable.Repeat((byte)i, 1000 + i).ToArray()).ToList();
            for (var i = 0; i < 4; i++)
            {
                Assert.True(batch.TryAppend(frames[i]));
            }

            // Four messages is the limit here.
            Assert.False(batch.TryAppend(frames[4]));
            Assert.Equal(4, batch.Send(a, Libc.MSG_DONTWAIT));
            Assert.True(batch.IsEmpty);
            Assert.True(batch.TryAppend(frames[4]));
            Assert.Equal(1, batch.Send(a, Libc.MSG_DONTWAIT));

            var buffer = new byte[4096];
            foreach (var f in frames)
            {
                var n = Libc.Read(b, buffer);
                Assert.Equal(f, buffer.AsSpan(0, (int)n).ToArray());
            }
        }
        finally
        {
            Libc.Close(a);
            Libc.Close(b);
        }
    }

    [Fact]
    public void A_batch_refuses_what_would_overflow_its_bytes()
    {
        using var batch = new DatagramSendBatch(3000, 64, destination: null);
        Assert.True(batch.TryAppend(new byte[2000]));
        Assert.False(batch.TryAppend(new byte[1001]));
        Assert.True(batch.TryAppend(new byte[1000]));
        Assert.Equal(2, batch.Count);
    }

    [Fact]
    public void A_header_and_its_frame_leave_as_one_datagram_and_count_together_against_the_bytes()
    {
        Assert.True(Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_DGRAM, 0, out var a, out var b));
        try
        {
            using var batch = new DatagramSendBatch(100, 4, destination: null);
            Assert.True(batch.TryAppend([1, 2, 3], [9, 9, 9, 9]));
            Assert.True(batch.TryAppend([], [7]));
            Assert.False(batch.TryAppend(new byte[50], new byte[43]));
            Assert.Equal(2, batch.Send(a, Libc.MSG_DONTWAIT));

            var buffer = new byte[128];
            Assert.Equal([1, 2, 3, 9, 9, 9, 9], buffer.AsSpan(0, (int)Libc.Read(b, buffer)).ToArray());
            Assert.Equal([7], buffer.AsSpan(0, (int)Libc.Read(b, buffer)).ToArray());
        }
        finally
        {
            Libc.Close(a);
            Libc.Close(b);
        }
    }
}
