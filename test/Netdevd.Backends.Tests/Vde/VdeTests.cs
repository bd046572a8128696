using Netdevd.Backends.Dgram;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Netdevd.Backends.Vde;
using Netdevd.Core.Hubs;
using Netdevd.Core.Nic;
using Netdevd.Core.Registry;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Tests.Vde;

/// <summary>The vde netdev: libvdeplug's request, its errors, and frames through a real vde_switch.</summary>
public sealed class VdeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static NetdevRegistry NewRegistry() =>
        new([new VdeNetdevFactory(), new HubportNetdevFactory()], new Silent(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

    private static Netdev Vde(string id, string? sock, ushort? port = null, ushort? mode = null) =>
        new() { Id = id, Type = NetClientDriver.Vde, Vde = new NetdevVdeOptions { Sock = sock, Port = port, Mode = mode } };

    private static byte[] Frame(int length, int seq)
    {
        var f = new byte[length];
        for (var i = 0; i < length; i++)
        {
            f[i] = (byte)((i * 7) + seq);
        }

        f.AsSpan(0, 6).Fill(0xff);
        f[6] = 0x52;
        f[7] = 0x54;
        BinaryPrimitives.WriteInt32BigEndian(f.AsSpan(8), seq);
        return f;
    }

    [Fact]
    public void Request_is_libvdeplugs_request_v3()
    {
        var r = VdeRequest.Build(5, "/tmp/sw/.01234-00000", "netdevd user=u PID=1");
        Assert.Equal(12 + 110 + 20, r.Length);
        Assert.Equal(0xfeedfaceu, BinaryPrimitives.ReadUInt32LittleEndian(r));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(r.AsSpan(4)));
        Assert.Equal(5 << 8, BinaryPrimitives.ReadInt32LittleEndian(r.AsSpan(8)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(r.AsSpan(12))); // AF_UNIX
        Assert.Equal("/tmp/sw/.01234-00000", Encoding.UTF8.GetString(r, 14, 20));
        Assert.Equal(0, r[14 + 20]);
        Assert.Equal("netdevd user=u PID=1", Encoding.UTF8.GetString(r, 122, 20));

        // MAXDESCR is 128 with its NUL: at most 127 bytes of description are sent.
        Assert.Equal(122 + 127, VdeRequest.Build(0, "/x", new string('d', 300)).Length);
    }

    [Fact]
    public async Task Absent_switch_directory_is_no_such_file()
    {
        await using var r = NewRegistry();
        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Vde("v0", "/nonexistent/netdevd-vde"), NetdevOrigin.Monitor, null, Ct));
        Assert.Equal("Could not open vde: No such file or directory", e.Message);
        Assert.Empty(r.Snapshot());
    }

    [Fact]
    public async Task Directory_without_a_switch_is_no_such_file_and_a_stale_socket_refuses()
    {
        var dir = Directory.CreateTempSubdirectory("nd-vde-").FullName;
        try
        {
            await using var r = NewRegistry();
            var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Vde("v0", dir), NetdevOrigin.Monitor, null, Ct));
            Assert.Equal("Could not open vde: No such file or directory", e.Message);

            // A ctl socket nobody listens on any more (a switch that died).
            // (.NET removes a socket file when its Socket is disposed, so this uses libc directly.)
            var stale = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM, 0);
            Assert.Equal(0, Libc.Bind(stale, SockAddr.Unix(Path.Combine(dir, "ctl"))));
            Libc.Close(stale);

            e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Vde("v0", dir), NetdevOrigin.Monitor, null, Ct));
            Assert.Equal("Could not open vde: Connection refused", e.Message);
            Assert.Single(Directory.GetFileSystemEntries(dir)); // our data socket is not left behind
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Handshake_sends_the_request_and_connects_to_the_answer()
    {
        // A switch of our own: accept the control connection, read the request, answer with a data socket.
        var dir = Directory.CreateTempSubdirectory("nd-vde-").FullName;
        try
        {
            using var ctl = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            ctl.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "ctl")));
            ctl.Listen(1);
            using var data = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            var dataPath = Path.Combine(dir, "007.3");
            data.Bind(new UnixDomainSocketEndPoint(dataPath));
            var request = new byte[400];
            var served = Task.Run(async () =>
            {
                using var c = await ctl.AcceptAsync(Ct);
                var n = await c.ReceiveAsync(request, SocketFlags.None, Ct);
                var answer = new byte[110];
                BinaryPrimitives.WriteUInt16LittleEndian(answer, 1);
                Encoding.UTF8.GetBytes(dataPath).CopyTo(answer, 2);
                await c.SendAsync(answer, SocketFlags.None, Ct);
                Array.Resize(ref request, n);

                // Hold the control connection as a switch does.
                var rest = new byte[1];
                _ = await c.ReceiveAsync(rest, SocketFlags.None, Ct);
            });

            await using var r = NewRegistry();
            var client = (DatagramNetClient)await r.AddAsync(Vde("v0", dir, port: 7), NetdevOrigin.Monitor, null, Ct);
            Assert.Equal($"sock={dir},fd={client.Fd}", client.Info);
            Assert.Equal(0xfeedfaceu, BinaryPrimitives.ReadUInt32LittleEndian(request));
            Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(4)));
            Assert.Equal(7 << 8, BinaryPrimitives.ReadInt32LittleEndian(request.AsSpan(8)));
            var clientPath = Encoding.UTF8.GetString(request, 14, 108).TrimEnd('\0');
            Assert.StartsWith(Path.Combine(dir, "."), clientPath, StringComparison.Ordinal);
            Assert.StartsWith("netdevd user=", Encoding.UTF8.GetString(request, 122, request.Length - 122), StringComparison.Ordinal);
            Assert.False(File.Exists(clientPath)); // removed once connected, as vdeplug4 does

            // Frames: ours arrive on the switch's data socket; what it sends reaches the NIC.
            var got = new BlockingCollection<byte[]>();
            var nic = new NicClient("n", f => got.Add(f.ToArray()));
            r.AttachNic("v0", nic);
            var frame = Frame(100, 1);
            nic.Transmit(frame);
            var buffer = new byte[2000];
            var m = data.Receive(buffer);
            Assert.Equal(frame, buffer[..m]);

            await r.DeleteAsync("v0", Ct);
            await served.WaitAsync(TimeSpan.FromSeconds(5), Ct); // the control connection closed with the netdev
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Two_ports_exchange_frames_through_a_real_vde_switch()
    {
        using var sw = VdeSwitchProcess.Start();
        await using var r = NewRegistry();
        var a = (DatagramNetClient)await r.AddAsync(Vde("a", sw.SwitchDir), NetdevOrigin.Monitor, null, Ct);
        var b = (DatagramNetClient)await r.AddAsync(Vde("b", sw.SwitchDir, port: 9), NetdevOrigin.Monitor, null, Ct);
        Assert.Equal($"sock={sw.SwitchDir},fd={a.Fd}", a.Info);
        var ga = new BlockingCollection<byte[]>();
        var gb = new BlockingCollection<byte[]>();
        r.AttachNic("a", new NicClient("na", f => ga.Add(f.ToArray())));
        var nb = new NicClient("nb", f => gb.Add(f.ToArray()));
        r.AttachNic("b", nb);
        var na = (NicClient)a.Peer!;

        // vde_switch carries frames of up to 1514 bytes (plus a VLAN tag).
        var seq = 0;
        foreach (var size in new[] { 60, 600, 1514 })
        {
            var ab = Frame(size, seq++);
            na.Transmit(ab);
            Assert.True(gb.TryTake(out var atB, 5000), "frame a->b did not arrive");
            Assert.Equal(ab, atB);
            var ba = Frame(size, seq++);
            nb.Transmit(ba);
            Assert.True(ga.TryTake(out var atA, 5000), "frame b->a did not arrive");
            Assert.Equal(ba, atA);
        }

        Assert.Equal(3, a.Counters.Sent);
        Assert.Equal(3, b.Counters.Received);

        // No data socket files of ours are left in the switch directory.
        Assert.DoesNotContain(Directory.GetFileSystemEntries(sw.SwitchDir), p => Path.GetFileName(p).StartsWith('.'));
    }

    private sealed class Silent : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
