using System.Net.Sockets;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qmp.Tests;

/// <summary>getfd/closefd with descriptors passed by SCM_RIGHTS on the unix socket.</summary>
public sealed class FdPassingTests
{
    [Fact]
    public async Task Getfd_names_a_passed_descriptor_and_closefd_closes_it()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var file = TempHandle();

        QmpAssert.EmptyReturn(await SendWithFdAsync(client, """{"execute":"getfd","arguments":{"fdname":"f1"}}""", file));
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"closefd","arguments":{"fdname":"f1"}}"""));
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"closefd","arguments":{"fdname":"f1"}}"""), "File descriptor named 'f1' not found");
    }

    [Fact]
    public async Task Getfd_without_a_descriptor_or_with_a_digit_name_fails_as_QEMU()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var file = TempHandle();
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"getfd","arguments":{"fdname":"f1"}}"""), "No file descriptor supplied via SCM_RIGHTS");
        QmpAssert.GenericError(await SendWithFdAsync(client, """{"execute":"getfd","arguments":{"fdname":"1f"}}""", file), "Parameter 'fdname' expects a name not starting with a digit");

        // The descriptor was consumed (and closed) by the failed getfd.
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"getfd","arguments":{"fdname":"f1"}}"""), "No file descriptor supplied via SCM_RIGHTS");
    }

    [Fact]
    public async Task A_netdev_takes_a_named_descriptor_from_its_monitor()
    {
        var factory = new FdTakingFactory();
        await using var host = await QmpTestHost.StartAsync(factories: [factory]);
        await using var client = await host.ConnectAsync();
        using var file = TempHandle();
        QmpAssert.EmptyReturn(await SendWithFdAsync(client, """{"execute":"getfd","arguments":{"fdname":"tapfd"}}""", file));
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"t0","type":"tap","fd":"tapfd"}}"""));

        Assert.True(factory.TakenFd >= 0);
        Assert.True(Libc.Fcntl(factory.TakenFd, Libc.F_GETFL, 0) >= 0, "the descriptor is open and now the backend's");
        Libc.Close(factory.TakenFd);
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"closefd","arguments":{"fdname":"tapfd"}}"""), "File descriptor named 'tapfd' not found");
    }

    private static async Task<Qapi.Objects.QDict> SendWithFdAsync(QmpTestClient client, string request, SafeFileHandle fd)
    {
        var n = UnixRights.Send(client.Socket.SafeHandle, Encoding.UTF8.GetBytes(request), [fd], 0);
        Assert.True(n > 0, "sendmsg failed: " + Errno.Message(Errno.Last));
        return await client.ReadResponseAsync();
    }

    private static SafeFileHandle TempHandle()
    {
        var path = Path.GetTempFileName();
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, FileOptions.DeleteOnClose);
        return handle;
    }

    private sealed class FdTakingFactory : INetdevFactory
    {
        public int TakenFd { get; private set; } = -1;

        public NetClientDriver Driver => NetClientDriver.Tap;

        public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
        {
            var name = options.Tap!.Fd!;
            if (context.MonitorFds is null || !context.MonitorFds.TryTake(name, out var fd))
            {
                throw new QapiException($"File descriptor named '{name}' has not been found");
            }

            TakenFd = fd;
            return ValueTask.FromResult<NetClient>(new NullClient(options.Id));
        }
    }

    private sealed class NullClient(string name) : NetClient(name, NetClientDriver.Tap)
    {
        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) => ReceiveResult.Accepted;
    }
}
