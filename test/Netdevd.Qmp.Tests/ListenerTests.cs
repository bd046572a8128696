using System.Net.Sockets;
using Netdevd.Qapi.Events;
using Netdevd.Qmp.Endpoints;
using Netdevd.Qmp.Events;
using Netdevd.Qmp.Server;
using Netdevd.Tests.Shared;

namespace Netdevd.Qmp.Tests;

/// <summary>The unix socket file: its mode, stale files, removal; wait=on.</summary>
public sealed class ListenerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("netdevd-qmp-l-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string SocketPath => Path.Combine(_dir, "q.sock");

    [Fact]
    public async Task Socket_file_is_0600_and_removed_at_shutdown()
    {
        var server = NewServer();
        await server.StartAsync([QmpEndpointSpec.Unix(SocketPath)], Ct);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SocketPath));
        await server.DisposeAsync();
        Assert.False(File.Exists(SocketPath));
    }

    [Fact]
    public async Task A_stale_socket_file_is_replaced()
    {
        // .NET unlinks a socket file it bound when the socket is disposed; moving the file
        // away first leaves a real stale socket file behind, as a crashed daemon would.
        var bound = Path.Combine(_dir, "bound.sock");
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(bound));
            File.Move(bound, SocketPath);
        }

        Assert.True(File.Exists(SocketPath));
        await using var server = NewServer();
        await server.StartAsync([QmpEndpointSpec.Unix(SocketPath)], Ct);
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await probe.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), Ct);
    }

    [Fact]
    public async Task A_live_socket_or_a_regular_file_is_not_replaced()
    {
        await using var first = NewServer();
        await first.StartAsync([QmpEndpointSpec.Unix(SocketPath)], Ct);
        await using var second = NewServer();
        var e = await Assert.ThrowsAsync<IOException>(() => second.StartAsync([QmpEndpointSpec.Unix(SocketPath)], Ct));
        Assert.Contains("Address already in use", e.Message, StringComparison.Ordinal);

        var file = Path.Combine(_dir, "data");
        await File.WriteAllTextAsync(file, "keep me", Ct);
        await using var third = NewServer();
        await Assert.ThrowsAsync<IOException>(() => third.StartAsync([QmpEndpointSpec.Unix(file)], Ct));
        Assert.Equal("keep me", await File.ReadAllTextAsync(file, Ct));
    }

    [Fact]
    public async Task Wait_on_blocks_start_until_a_client_connects()
    {
        await using var server = NewServer();
        var start = server.StartAsync([QmpEndpointSpec.Parse($"unix:{SocketPath},server=on,wait=on")], Ct);
        await Eventually.WaitUntilAsync(() => File.Exists(SocketPath), "the listener's socket file exists");
        await Task.Delay(100, Ct);
        Assert.False(start.IsCompleted);
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), Ct);
        await start.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }

    [Fact]
    public async Task Several_endpoints_at_once()
    {
        await using var server = NewServer();
        await server.StartAsync([QmpEndpointSpec.Unix(SocketPath), QmpEndpointSpec.Tcp("127.0.0.1", 0)], Ct);
        Assert.Equal(2, server.BoundEndPoints.Count);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static QmpServer NewServer() => new(new Dictionary<string, Qapi.Commands.QapiCommand>(), new QmpEventBroadcaster());
}
