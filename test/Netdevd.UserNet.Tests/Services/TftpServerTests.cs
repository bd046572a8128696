using System.Text;
using Microsoft.Extensions.Time.Testing;
using Netdevd.UserNet.Services.Tftp;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Services;

public sealed class TftpServerTests
{
    private static readonly TftpClientEndpoint Client = new(Ipv4Address.Create(10, 0, 2, 15), 40000);

    private static byte[] Rrq(string name, string mode = "octet", params string[] options)
    {
        var s = "\0\u0001" + name + "\0" + mode + "\0" + string.Concat(options.Select(o => o + "\0"));
        return Encoding.ASCII.GetBytes(s);
    }

    private static byte[] Ack(ushort block) => [0, 4, (byte)(block >> 8), (byte)block];

    private static byte[] Data(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();

    [Fact]
    public void Plain_rrq_sends_512_byte_blocks_and_ends_on_short_block()
    {
        var files = new MemoryTftpFileSource { ["boot/file.bin"] = Data(1100) };
        using var s = new TftpServer(files);
        var reply = Bytes.Filled(s.MaxReplyLength);
        var n = s.Handle(Client, Rrq("boot/file.bin"), reply);
        Assert.Equal(516, n);
        Assert.Equal("00030001", Bytes.ToHex(reply.AsSpan(0, 4)));
        Assert.Equal(Data(512), reply.AsSpan(4, 512).ToArray());

        Assert.Equal(0, s.Handle(Client, Ack(0), reply)); // stale ACK ignored
        n = s.Handle(Client, Ack(1), reply);
        Assert.Equal(516, n);
        Assert.Equal("00030002", Bytes.ToHex(reply.AsSpan(0, 4)));
        Assert.Equal(0, s.Handle(Client, Ack(1), reply)); // duplicate ACK: no Sorcerer's Apprentice
        n = s.Handle(Client, Ack(2), reply);
        Assert.Equal(4 + 76, n);
        Assert.Equal(Data(1100).AsSpan(1024).ToArray(), reply.AsSpan(4, 76).ToArray());
        Assert.Equal(1, s.SessionCount);
        Assert.Equal(0, s.Handle(Client, Ack(3), reply));
        Assert.Equal(0, s.SessionCount);
    }

    [Fact]
    public void Exact_multiple_ends_with_empty_block()
    {
        var files = new MemoryTftpFileSource { ["f"] = Data(512) };
        using var s = new TftpServer(files);
        var reply = new byte[s.MaxReplyLength];
        Assert.Equal(516, s.Handle(Client, Rrq("f"), reply));
        Assert.Equal(4, s.Handle(Client, Ack(1), reply));
        Assert.Equal("00030002", Bytes.ToHex(reply.AsSpan(0, 4)));
        Assert.Equal(0, s.Handle(Client, Ack(2), reply));
        Assert.Equal(0, s.SessionCount);
    }

    [Fact]
    public void Options_blksize_tsize_timeout_get_an_oack()
    {
        var files = new MemoryTftpFileSource { ["f"] = Data(3000) };
        using var s = new TftpServer(files);
        var reply = Bytes.Filled(s.MaxReplyLength);
        var n = s.Handle(Client, Rrq("f", "OCTET", "blksize", "1468", "tsize", "0", "timeout", "3", "unknown", "1"), reply);
        Assert.Equal("\0\u0006blksize\u00001468\0tsize\u00003000\0timeout\u00003\0", Encoding.ASCII.GetString(reply, 0, n));
        n = s.Handle(Client, Ack(0), reply);
        Assert.Equal(4 + 1468, n);
        Assert.Equal("00030001", Bytes.ToHex(reply.AsSpan(0, 4)));
        n = s.Handle(Client, Ack(1), reply);
        Assert.Equal(4 + 1468, n);
        n = s.Handle(Client, Ack(2), reply);
        Assert.Equal(4 + 64, n);
    }

    [Fact]
    public void Blksize_is_capped_and_invalid_options_ignored()
    {
        var files = new MemoryTftpFileSource { ["f"] = Data(10) };
        using var s = new TftpServer(files);
        var reply = new byte[s.MaxReplyLength];
        var n = s.Handle(Client, Rrq("f", "octet", "blksize", "65464"), reply);
        Assert.Equal("\0\u0006blksize\u00001468\0", Encoding.ASCII.GetString(reply, 0, n));
        n = s.Handle(Client, Rrq("f", "octet", "blksize", "7", "timeout", "0"), reply);
        Assert.Equal(14, n); // no valid option: DATA 1 straight away
        Assert.Equal(3, reply[1]);
    }

    [Theory]
    [InlineData("missing", 1, "File not found")]
    [InlineData("../etc/passwd", 2, "Access violation")]
    [InlineData("a/../../x", 2, "Access violation")]
    [InlineData("/etc/passwd", 2, "Access violation")]
    [InlineData("dir/", 2, "Access violation")]
    public void Errors_for_bad_names(string name, int code, string text)
    {
        using var s = new TftpServer(new MemoryTftpFileSource());
        var reply = new byte[s.MaxReplyLength];
        var n = s.Handle(Client, Rrq(name), reply);
        Assert.True(TftpPacket.TryCreate(reply.AsSpan(0, n), out var p));
        Assert.Equal(TftpOpcode.Error, p.Opcode);
        Assert.Equal((TftpErrorCode)code, p.ErrorCode);
        Assert.Equal(text, Encoding.ASCII.GetString(p.ErrorMessage));
        Assert.Equal(0, reply[n - 1]);
    }

    [Fact]
    public void Write_netascii_and_garbage_are_refused()
    {
        using var s = new TftpServer(new MemoryTftpFileSource { ["f"] = Data(1) });
        var reply = new byte[s.MaxReplyLength];
        var wrq = Rrq("f");
        wrq[1] = 2;
        var n = s.Handle(Client, wrq, reply);
        Assert.Equal("00050002", Bytes.ToHex(reply.AsSpan(0, 4)));
        Assert.Equal("Access violation", Encoding.ASCII.GetString(reply, 4, n - 5));
        n = s.Handle(Client, Rrq("f", "netascii"), reply);
        Assert.Equal("Unsupported transfer mode", Encoding.ASCII.GetString(reply, 4, n - 5));
        Assert.Equal(0, s.Handle(Client, [0, 1], reply));
        n = s.Handle(Client, Encoding.ASCII.GetBytes("\0\u0001ab"), reply);
        Assert.Equal(4 + 17 + 1, n);
        Assert.Equal(TftpErrorCode.NotDefined, (TftpErrorCode)reply[3]);
        Assert.Equal(5, reply[1]);
        Assert.Equal(0, s.SessionCount);
    }

    [Fact]
    public void Retransmits_on_timeout_then_gives_up()
    {
        var time = new FakeTimeProvider();
        using var s = new TftpServer(new MemoryTftpFileSource { ["f"] = Data(600) }, time);
        var reply = new byte[s.MaxReplyLength];
        s.Handle(Client, Rrq("f"), reply);
        Assert.Equal(0, s.Poll(reply, out _));
        Assert.Equal(TimeSpan.FromSeconds(1), s.NextPollDelay());
        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(516, s.Poll(reply, out var to));
            Assert.Equal(Client, to);
            Assert.Equal(0, s.Poll(reply, out _));
        }

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, s.Poll(reply, out _));
        Assert.Equal(0, s.SessionCount);
        Assert.Null(s.NextPollDelay());
    }

    [Fact]
    public void Sessions_are_bounded_and_client_error_ends_one()
    {
        using var s = new TftpServer(new MemoryTftpFileSource { ["f"] = Data(600) }, options: new TftpServerOptions { MaxSessions = 2 });
        var reply = new byte[s.MaxReplyLength];
        s.Handle(Client, Rrq("f"), reply);
        s.Handle(Client with { Port = 2 }, Rrq("f"), reply);
        var n = s.Handle(Client with { Port = 3 }, Rrq("f"), reply);
        Assert.Equal("Too many sessions", Encoding.ASCII.GetString(reply, 4, n - 5));
        s.Handle(Client, Encoding.ASCII.GetBytes("\0\u0005\0\0x\0"), reply);
        Assert.Equal(1, s.SessionCount);
    }

    [Fact]
    public void Directory_source_confines_to_root_including_symlinks()
    {
        var root = Directory.CreateTempSubdirectory("netdevd-tftp-");
        var outside = Directory.CreateTempSubdirectory("netdevd-out-");
        try
        {
            File.WriteAllText(Path.Combine(root.FullName, "ok.txt"), "hello");
            Directory.CreateDirectory(Path.Combine(root.FullName, "sub"));
            File.WriteAllText(Path.Combine(root.FullName, "sub", "in.txt"), "inner");
            File.WriteAllText(Path.Combine(outside.FullName, "secret"), "secret");
            File.CreateSymbolicLink(Path.Combine(root.FullName, "out-file"), Path.Combine(outside.FullName, "secret"));
            Directory.CreateSymbolicLink(Path.Combine(root.FullName, "out-dir"), outside.FullName);
            File.CreateSymbolicLink(Path.Combine(root.FullName, "in-link"), "sub/in.txt");

            var src = new DirectoryTftpFileSource(root.FullName);
            Assert.Equal(TftpOpenResult.Ok, src.Open("ok.txt", out var f));
            Span<byte> buf = stackalloc byte[16];
            Assert.Equal(5, f!.Length);
            Assert.Equal(5, f.Read(0, buf));
            Assert.Equal("hello", Encoding.ASCII.GetString(buf[..5]));
            f.Dispose();
            Assert.Equal(TftpOpenResult.Ok, src.Open("in-link", out f));
            f!.Dispose();
            Assert.Equal(TftpOpenResult.Ok, src.Open("sub/in.txt", out f));
            f!.Dispose();
            Assert.Equal(TftpOpenResult.AccessViolation, src.Open("out-file", out _));
            Assert.Equal(TftpOpenResult.AccessViolation, src.Open("out-dir/secret", out _));
            Assert.Equal(TftpOpenResult.AccessViolation, src.Open("../" + outside.Name + "/secret", out _));
            Assert.Equal(TftpOpenResult.AccessViolation, src.Open(Path.Combine(outside.FullName, "secret"), out _));
            Assert.Equal(TftpOpenResult.NotFound, src.Open("nope", out _));
            Assert.Equal(TftpOpenResult.NotFound, src.Open("sub", out _)); // a directory is not a file
        }
        finally
        {
            root.Delete(true);
            outside.Delete(true);
        }
    }
}

/// <summary>In-memory files with the same name rules as the directory source (for server tests).</summary>
internal sealed class MemoryTftpFileSource : Dictionary<string, byte[]>, ITftpFileSource
{
    public TftpOpenResult Open(string name, out ITftpFile? file)
    {
        file = null;
        if (name.StartsWith('/') || name.EndsWith('/') || name.Split('/').Contains(".."))
        {
            return TftpOpenResult.AccessViolation;
        }

        if (!TryGetValue(name, out var data))
        {
            return TftpOpenResult.NotFound;
        }

        file = new MemoryFile(data);
        return TftpOpenResult.Ok;
    }

    private sealed class MemoryFile(byte[] data) : ITftpFile
    {
        public long Length => data.Length;

        public int Read(long offset, Span<byte> destination)
        {
            var n = (int)Math.Max(0, Math.Min(destination.Length, data.Length - offset));
            data.AsSpan((int)offset, n).CopyTo(destination);
            return n;
        }

        public void Dispose()
        {
        }
    }
}
