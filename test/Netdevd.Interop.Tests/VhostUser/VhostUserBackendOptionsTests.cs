using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Cli;
using Netdevd.Core.Registry;
using Netdevd.Hosting;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Events;

namespace Netdevd.Interop.Tests.VhostUser;

/// <summary><c>-netdev vhost-user-backend,...</c> as the command line gives it: checks, errors, creation and deletion.</summary>
public sealed class VhostUserBackendOptionsTests
{
    [Theory]
    [InlineData("addr.type=inet,addr.host=127.0.0.1,addr.port=1", "vhost-user-backend: only unix socket addresses are supported ('addr.type=unix')")]
    [InlineData("addr.type=unix,addr.path=PATH,queues=0", "vhost-user-backend number of queues must be in range [1, 1024]")]
    [InlineData("addr.type=unix,addr.path=PATH,queues=1025", "vhost-user-backend number of queues must be in range [1, 1024]")]
    [InlineData("addr.type=unix,addr.path=PATH,server=on,reconnect-ms=100", "'reconnect-ms' option is incompatible with socket in server mode")]
    [InlineData("addr.type=unix,addr.path=PATH,server=off", "Failed to connect to 'PATH'")]
    public async Task Bad_options_are_refused_with_a_message(string options, string message)
    {
        var dir = Directory.CreateTempSubdirectory("nd-vub-").FullName;
        try
        {
            var path = Path.Combine(dir, "missing.sock");
            var error = await AddAsync($"vhost-user-backend,id=v,{options.Replace("PATH", path, StringComparison.Ordinal)}");
            Assert.NotNull(error);
            Assert.StartsWith(message.Replace("PATH", path, StringComparison.Ordinal), error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_server_listens_until_it_is_deleted()
    {
        var dir = Directory.CreateTempSubdirectory("nd-vub-").FullName;
        try
        {
            var path = Path.Combine(dir, "vhost.sock");
            await using var registry = new NetdevRegistry(BackendCatalog.Create(), new NoEvents(), NullLoggerFactory.Instance);
            var request = NetdevRequests.Parse([$"vhost-user-backend,id=v,addr.type=unix,addr.path={path},queues=2"])[0];
            var client = await registry.AddAsync(request.Netdev, request.Origin);
            Assert.True(File.Exists(path));
            Assert.Contains("listening on unix:", client.Info, StringComparison.Ordinal);
            await registry.DeleteAsync("v");
            Assert.False(File.Exists(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<string?> AddAsync(string spec)
    {
        await using var registry = new NetdevRegistry(BackendCatalog.Create(), new NoEvents(), NullLoggerFactory.Instance);
        try
        {
            var request = NetdevRequests.Parse([spec])[0];
            await registry.AddAsync(request.Netdev, request.Origin);
            return null;
        }
        catch (QapiException e)
        {
            return e.Message;
        }
    }

    private sealed class NoEvents : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
