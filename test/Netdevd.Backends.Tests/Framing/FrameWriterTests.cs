using System.Buffers.Binary;
using System.Net.Sockets;
using Netdevd.Backends.Framing;

namespace Netdevd.Backends.Tests.Framing;

public sealed class FrameWriterTests
{
    [Fact]
    public void Frames_go_out_with_their_length_and_survive_partial_writes()
    {
        var (a, b) = Pair();
        using (a)
        using (b)
        {
            a.Blocking = false;
            a.SendBufferSize = 4096;
            using var w = new FrameWriter();
            var fd = (int)a.SafeHandle.DangerousGetHandle();
            var sent = new List<byte[]>();
            var received = new List<byte>();
            var partials = 0;
            var blocked = 0;
            for (var i = 0; i < 200; i++)
            {
                var f = FrameReassemblerTests.Frame(1000 + (i * 97 % 20000), i);
                WriteOutcome o;
                while ((o = w.Write(fd, f)) == WriteOutcome.Blocked)
                {
                    blocked++;
                    Drain(b, received);
                }

                Assert.NotEqual(WriteOutcome.Failed, o);
                partials += o == WriteOutcome.Partial ? 1 : 0;
                sent.Add(f);
            }

            while (w.FlushPending(fd) == WriteOutcome.Blocked)
            {
                Drain(b, received);
            }

            Assert.True(partials + blocked > 0, "the small buffer should have forced partial or blocked writes");
            b.Shutdown(SocketShutdown.Send);
            a.Shutdown(SocketShutdown.Send);
            var frames = ReadAllFrames(b, received);
            Assert.Equal(sent.Count, frames.Count);
            for (var i = 0; i < sent.Count; i++)
            {
                Assert.Equal(sent[i], frames[i]);
            }
        }
    }

    [Fact]
    public void Write_to_a_closed_peer_fails_without_throwing()
    {
        var (a, b) = Pair();
        using (a)
        {
            b.Dispose();
            using var w = new FrameWriter();
            var fd = (int)a.SafeHandle.DangerousGetHandle();
            var outcomes = Enumerable.Range(0, 50).Select(_ => w.Write(fd, new byte[1000])).ToList();
            Assert.Contains(WriteOutcome.Failed, outcomes);
            Assert.True(w.Failed > 0);
        }
    }

    /// <summary>Reads what is there (the reader side of a slow consumer).</summary>
    internal static void Drain(Socket b, List<byte> received)
    {
        var buf = new byte[65536];
        b.ReceiveTimeout = 1000;
        var n = b.Receive(buf);
        received.AddRange(buf.AsSpan(0, n).ToArray());
    }

    internal static List<byte[]> ReadAllFrames(Socket b, List<byte> all)
    {
        var buf = new byte[65536];
        int n;
        while ((n = b.Receive(buf)) > 0)
        {
            all.AddRange(buf.AsSpan(0, n).ToArray());
        }

        var bytes = all.ToArray();
        var frames = new List<byte[]>();
        var at = 0;
        while (at + 4 <= bytes.Length)
        {
            var len = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at));
            frames.Add(bytes.AsSpan(at + 4, len).ToArray());
            at += 4 + len;
        }

        Assert.Equal(bytes.Length, at);
        return frames;
    }

    /// <summary>A connected unix stream pair: no TCP window and ACK timing to slow a small-buffer test down.</summary>
    internal static (Socket A, Socket B) Pair()
    {
        var path = Path.Combine(TestDirectories.Create("nd-fw-"), "p.sock");
        using var l = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        l.Bind(new UnixDomainSocketEndPoint(path));
        l.Listen(1);
        var a = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        a.Connect(l.LocalEndPoint!);
        var b = l.Accept();
        return (a, b);
    }
}
