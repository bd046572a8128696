using Netdevd.Core.Hubs;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Commands;
using Netdevd.Qmp.Commands;
using Netdevd.Qmp.Endpoints;
using Netdevd.Qmp.Events;
using Netdevd.Qmp.Server;

namespace Netdevd.Qmp.Tests;

/// <summary>A complete QMP stack (registry with hubport, handlers, server) on a unix socket in a temp dir.</summary>
internal sealed class QmpTestHost : IAsyncDisposable
{
    private readonly string _dir;

    private QmpTestHost(string dir, QmpEventBroadcaster events, NetdevRegistry registry, QmpCommandHandlers handlers, QmpServer server)
    {
        _dir = dir;
        Events = events;
        Registry = registry;
        Handlers = handlers;
        Server = server;
    }

    public QmpEventBroadcaster Events { get; }

    public NetdevRegistry Registry { get; }

    public QmpCommandHandlers Handlers { get; }

    public QmpServer Server { get; }

    public string SocketPath => Path.Combine(_dir, "qmp.sock");

    public static async Task<QmpTestHost> StartAsync(bool tcp = false, QmpServerOptions? options = null, IEnumerable<INetdevFactory>? factories = null, IEnumerable<QapiCommand>? extraCommands = null)
    {
        var dir = Directory.CreateTempSubdirectory("netdevd-qmp-").FullName;
        var events = new QmpEventBroadcaster();
        var registry = new NetdevRegistry(factories ?? [new HubportNetdevFactory()], events, NullLoggerFactory.Instance);
        var handlers = new QmpCommandHandlers(registry);
        var commands = new Dictionary<string, QapiCommand>(handlers.Commands);
        foreach (var c in extraCommands ?? [])
        {
            commands[c.Name] = c;
        }

        var server = new QmpServer(commands, events, options);
        var spec = tcp ? QmpEndpointSpec.Tcp("127.0.0.1", 0) : QmpEndpointSpec.Unix(Path.Combine(dir, "qmp.sock"));
        await server.StartAsync([spec]);
        return new QmpTestHost(dir, events, registry, handlers, server);
    }

    /// <summary>Connects and reads the greeting.</summary>
    public async Task<QmpTestClient> ConnectAsync(bool negotiate = true)
    {
        var endPoint = Server.BoundEndPoints[0];
        var socket = endPoint is IPEndPoint
            ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(endPoint);
        var client = new QmpTestClient(socket);
        var greeting = await client.ReadAsync();
        Assert.True(greeting.ContainsKey("QMP"));
        if (negotiate)
        {
            QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute": "qmp_capabilities"}"""));
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await Registry.DisposeAsync();
        Handlers.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
