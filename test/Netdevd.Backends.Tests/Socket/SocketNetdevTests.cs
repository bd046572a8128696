using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.Tests.Stream;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;
using static Netdevd.Backends.Tests.Stream.StreamTestKit;

namespace Netdevd.Backends.Tests.LegacySocket;

public sealed class SocketNetdevTests
{
    [Theory]
    [InlineData(null, null, null, null, null, "exactly one of listen=, connect=, mcast= or udp= is required")]
    [InlineData("3", null, null, "239.1.1.1:1", null, "exactly one of listen=, connect=, mcast= or udp= is required")]
    [InlineData(null, ":1", "127.0.0.1:2", null, null, "exactly one of listen=, connect=, mcast= or udp= is required")]
    [InlineData(null, "127.0.0.1:1", null, null, "127.0.0.1", "localaddr= is only valid with mcast= or udp=")]
    [InlineData(null, "nocolon", null, null, null, "host address 'nocolon' doesn't contain ':' separating host from port")]
    [InlineData(null, "1.2.3.x:5", null, null, null, "host address '1.2.3.x' is not a valid IPv4 address")]
    [InlineData(null, "127.0.0.1:port", null, null, null, "port number 'port' is invalid")]
    public async Task Validation_texts_in_qemu_order(string? fd, string? listen, string? connect, string? mcast, string? localaddr, string expected)
    {
        await using var reg = NewRegistry(new RecordingEvents());
        var e = await Assert.ThrowsAsync<QapiException>(() => reg.AddAsync(
            SocketNetdev("k0", new NetdevSocketOptions { Fd = fd, Listen = listen, Connect = connect, Mcast = mcast, Localaddr = localaddr }),
            NetdevOrigin.Monitor,
            cancellationToken: Ct));
        Assert.Equal(expected, e.Message);
        Assert.Empty(reg.Snapshot());
    }

    [Fact]
    public async Task Udp_needs_localaddr()
    {
        await using var reg = NewRegistry(new RecordingEvents());
        var e = await Assert.ThrowsAsync<QapiException>(() => reg.AddAsync(SocketNetdev("k0", new NetdevSocketOptions { Udp = "127.0.0.1:1" }), NetdevOrigin.Monitor, cancellationToken: Ct));
        Assert.Equal("localaddr= is mandatory with udp=", e.Message);
    }

    [Fact]
    public async Task Listen_bind_error_is_a_command_error()
    {
        await using var reg = NewRegistry(new RecordingEvents());
        using var taken = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var e = await Assert.ThrowsAsync<QapiException>(() => reg.AddAsync(SocketNetdev("k0", new NetdevSocketOptions { Listen = $"127.0.0.1:{port}" }), NetdevOrigin.Monitor, cancellationToken: Ct));
        Assert.Equal("can't bind ip=127.0.0.1 to socket: Address already in use", e.Message);
    }

    /// <summary>
    /// netdev_del right after netdev_add, before the netdev's I/O thread has taken the listener
    /// the add bound: the listener must close with the netdev. It stayed open (the thread drops
    /// the work of a deleted netdev), so the port stayed taken and adding the netdev again failed
    /// with "Address already in use".
    /// </summary>
    [Fact]
    public async Task Listen_deleted_right_after_add_frees_its_port_every_time()
    {
        await using var reg = NewRegistry(new RecordingEvents());

        // An address of its own on the loopback and a port no one gets by binding port 0: other
        // tests' sockets (connections from 127.0.0.1, a wildcard listener on an ephemeral port)
        // cannot take it between two rounds. Later about one full run in ten still failed here,
        // with nothing on the port a moment after: a child process that another test of this
        // process forked meanwhile held a copy of the listener's descriptor until its exec, and
        // the closed listener kept listening while it did (the test below; netdev_del now shuts
        // the listener down before closing it).
        const string Address = "127.77.0.1";
        var port = FreePortBelowEphemeralRange(IPAddress.Parse(Address));
        for (var i = 0; i < 500; i++)
        {
            try
            {
                await reg.AddAsync(SocketNetdev("k0", new NetdevSocketOptions { Listen = $"{Address}:{port}" }), NetdevOrigin.Monitor, cancellationToken: Ct);
            }
            catch (QapiException e)
            {
                // A full run once failed here again (1 of ~10 since the fixed address): say who held the port.
                Assert.Fail($"round {i}: {e.Message}; sockets on port {port}:\n{SocketsOnPort(port)}");
            }

            await reg.DeleteAsync("k0", Ct);
        }

        Assert.Empty(reg.Snapshot());
    }

    /// <summary>
    /// A listener's descriptor copied elsewhere (a child process forked by any thread of netdevd,
    /// between its fork and its exec, holds a copy of every descriptor) must not keep the port
    /// listening once netdev_del returned: closing the netdev's own descriptor alone left the
    /// socket listening while the copy lived, and adding the netdev again failed with "Address
    /// already in use" (one full test run in ~10, on the listen/delete round trip above).
    /// </summary>
    [Fact]
    public async Task A_deleted_listener_frees_its_port_while_a_copy_of_its_descriptor_lives()
    {
        await using var reg = NewRegistry(new RecordingEvents());
        const string Address = "127.77.0.2";
        var port = FreePortBelowEphemeralRange(IPAddress.Parse(Address));
        var listen = $"{Address}:{port}";
        await reg.AddAsync(SocketNetdev("k0", new NetdevSocketOptions { Listen = listen }), NetdevOrigin.Monitor, cancellationToken: Ct);
        var copy = Netdevd.Native.Libc.Dup(ListeningSockets.Descriptor(IPAddress.Parse(Address), port));
        Assert.True(copy >= 0, "dup of the listener failed");
        try
        {
            await reg.DeleteAsync("k0", Ct);
            await reg.AddAsync(SocketNetdev("k1", new NetdevSocketOptions { Listen = listen }), NetdevOrigin.Monitor, cancellationToken: Ct);
            await reg.DeleteAsync("k1", Ct);
        }
        finally
        {
            Netdevd.Native.Libc.Close(copy);
        }
    }

    /// <summary>What <c>ss</c> lists on <paramref name="port"/>, every state, with the owning processes.</summary>
    private static string SocketsOnPort(int port)
    {
        try
        {
            using var ss = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ss", ["-tanp", $"sport = :{port}"]) { RedirectStandardOutput = true })!;
            var listing = ss.StandardOutput.ReadToEnd();
            ss.WaitForExit();
            return listing;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"(ss: {e.Message})";
        }
    }

    [Fact]
    public async Task Listen_serves_clients_one_after_another_with_qemu_info()
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        var port = FreePort();
        var client = await reg.AddAsync(SocketNetdev("k0", new NetdevSocketOptions { Listen = $"127.0.0.1:{port}" }), NetdevOrigin.Monitor, cancellationToken: Ct);
        var nic = new FrameCapture("nic0");
        reg.AttachNic("k0", nic.Nic);
        Assert.Equal("", client.Info);
        Assert.True(client.LinkDown);
        for (var round = 0; round < 2; round++)
        {
            using var peer = await FramedTestSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            var local = (IPEndPoint)peer.Socket.LocalEndPoint!;
            await Eventually.WaitUntilAsync(() => client.Info.Length > 0, "accept");
            Assert.Equal($"socket: connection from 127.0.0.1:{local.Port}", client.Info);
            Assert.False(client.LinkDown);
            var f = Frame(65535, round);
            peer.Send(f);
            Assert.Equal(f, nic.Next());
            nic.Nic.Transmit(f);
            Assert.Equal(f, peer.Receive());
            peer.Socket.Shutdown(SocketShutdown.Both);
            await Eventually.WaitUntilAsync(() => client.Info.Length == 0 && client.LinkDown, "disconnect");
        }

        Assert.Empty(events.Snapshot());
    }

    [Fact]
    public async Task Connect_queues_until_connected_and_is_dead_after_the_end()
    {
        await using var reg = NewRegistry(new RecordingEvents());
        using var listener = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var client = await reg.AddAsync(SocketNetdev("k0", new NetdevSocketOptions { Connect = $"127.0.0.1:{port}" }), NetdevOrigin.Monitor, cancellationToken: Ct);
        var nic = new FrameCapture("nic0");
        reg.AttachNic("k0", nic.Nic);
        Assert.Equal($"socket: connect to 127.0.0.1:{port}", client.Info);
        Assert.False(client.LinkDown);
        var early = Frame(60, 0);
        nic.Nic.Transmit(early);
        using (var peer = new FramedTestSocket(await listener.AcceptAsync(Ct)))
        {
            Assert.Equal(early, peer.Receive());
            var f = Frame(9014, 1);
            peer.Send(f);
            Assert.Equal(f, nic.Next());
        }

        await Eventually.WaitUntilAsync(() => client.LinkDown && client.Info.Length == 0, "dead after EOF");
    }

    [Fact]
    public async Task Fd_stream_descriptor_is_a_connected_framed_link()
    {
        await using var reg = NewRegistry(new RecordingEvents());
        using var l = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        l.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        l.Listen();
        var mine = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        mine.Connect(l.LocalEndPoint!);
        using var theirs = new FramedTestSocket(l.Accept());
        var fd = (int)mine.SafeHandle.DangerousGetHandle();
        mine.SafeHandle.SetHandleAsInvalid();
        Netdevd.Backends.Sockets.GrantedDescriptors.Grant(fd);
        var client = await reg.AddAsync(SocketNetdev("k0", new NetdevSocketOptions { Fd = fd.ToString(System.Globalization.CultureInfo.InvariantCulture) }), NetdevOrigin.CommandLineLegacy, cancellationToken: Ct);
        var nic = new FrameCapture("nic0");
        reg.AttachNic("k0", nic.Nic);
        Assert.Equal($"socket: fd={fd}", client.Info);
        var f = Frame(1514, 1);
        theirs.Send(f);
        Assert.Equal(f, nic.Next());
        nic.Nic.Transmit(f);
        Assert.Equal(f, theirs.Receive());
    }
}
