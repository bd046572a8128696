using System.Net;
using Netdevd.Backends.Chardevs;
using Netdevd.Core.Chardevs;
using Netdevd.Qapi.Schema;
using Netdevd.Backends.Tests.Stream;
using Netdevd.Tests.Shared;

namespace Netdevd.Backends.Tests.Chardevs;

/// <summary>
/// chardev-remove of an inet server frees its address at once even while a copy of its listener's
/// descriptor lives (a child forked by any thread holds one until its exec), as netdev_del does
/// for the socket and stream netdevs (SocketNetdevTests, StreamServerTests).
/// </summary>
public sealed class ChardevListenerCopyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_removed_inet_server_frees_its_address_while_a_copy_of_its_descriptor_lives()
    {
        await using var registry = new ChardevRegistry(new SocketChardevFactory());
        var address = IPAddress.Parse("127.77.0.5");
        var port = StreamTestKit.FreePortBelowEphemeralRange(address);
        var spec = InetServer("127.77.0.5", port);
        await registry.AddFromCommandLineAsync("c0", spec, Ct);
        var copy = Netdevd.Native.Libc.Dup(ListeningSockets.Descriptor(address, port));
        Assert.True(copy >= 0, "dup of the listener failed");
        try
        {
            await registry.RemoveAsync("c0", Ct);
            Assert.Empty(ListeningSockets.Inodes(address, port));
            await registry.AddFromCommandLineAsync("c1", spec, Ct);
            await registry.RemoveAsync("c1", Ct);
        }
        finally
        {
            Netdevd.Native.Libc.Close(copy);
        }
    }

    private static ChardevBackend InetServer(string host, int port) => new()
    {
        Type = ChardevBackendKind.Socket,
        Socket = new ChardevSocketWrapper
        {
            Data = new ChardevSocket
            {
                Addr = new SocketAddressLegacy
                {
                    Type = SocketAddressType.Inet,
                    Inet = new InetSocketAddressWrapper { Data = new InetSocketAddress { Host = host, Port = port.ToString(System.Globalization.CultureInfo.InvariantCulture) } },
                },
                Server = true,
                Wait = false,
            },
        },
    };
}
