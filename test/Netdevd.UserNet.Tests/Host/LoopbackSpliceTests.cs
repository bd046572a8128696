using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// A TCP forward's clients on the host's loopback are offered to the netdev's loopback splice
/// (pasta's personality joins them to its namespace's loopback) before they become connections
/// to the guest; a refusal leaves them to the guest's link.
/// </summary>
public sealed class LoopbackSpliceTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_loopback_client_of_a_tcp_forward_is_offered_to_the_splice_first(bool spliceTakesIt)
    {
        var options = new NetdevUserOptions { Ipv6 = false, Hostfwd = [new() { Str = "tcp:127.0.0.1:0-:8080" }] };
        var client = UserNetClient.Create("u-splice", UserNetConfigParser.Parse(options), TimeProvider.System, NullLogger.Instance);
        var splice = new RecordingSplice(spliceTakesIt);
        client.LoopbackSplice = splice;
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            var port = (int)client.HostForwards[0].HostPort;
            using var host = new TcpClient();
            await host.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
            for (var i = 0; i < 500 && splice.Offers.IsEmpty; i++)
            {
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }

            Assert.Equal([(false, 8080)], splice.Offers);
            if (spliceTakesIt)
            {
                // Taken: no connection towards the guest.
                await Task.Delay(200, TestContext.Current.CancellationToken);
                Assert.DoesNotContain(guest.Received, r => GuestPeer.TryTcp(r.Frame, out _, out var flags, out _) && (flags & TcpFlags.Syn) != 0);
            }
            else
            {
                var syn = await guest.WaitForTcpAsync((flags, _) => flags == TcpFlags.Syn);
                Assert.Equal(TcpFlags.Syn, syn.Flags);
            }
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
            splice.Dispose();
        }
    }

    [Fact]
    public async Task A_client_the_splice_gives_back_later_from_its_own_thread_goes_to_the_guest()
    {
        var options = new NetdevUserOptions { Ipv6 = false, Hostfwd = [new() { Str = "tcp:127.0.0.1:0-:8080" }] };
        var client = UserNetClient.Create("u-splice-back", UserNetConfigParser.Parse(options), TimeProvider.System, NullLogger.Instance);
        var splice = new GivingBackSplice();
        client.LoopbackSplice = splice;
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            var port = (int)client.HostForwards[0].HostPort;
            using var host = new TcpClient();
            await host.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);

            // Taken, then handed back from another thread, as the splice's relay does when its
            // connect in the namespace is refused or times out: the netdev opens it to the guest
            // with the client's own address.
            var (fd, fallback) = await splice.Taken.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            Assert.DoesNotContain(guest.Received, r => GuestPeer.TryTcp(r.Frame, out _, out var flags, out _) && (flags & TcpFlags.Syn) != 0);
            await Task.Run(() => fallback.GiveBack(fd), TestContext.Current.CancellationToken);
            var syn = await guest.WaitForTcpAsync((flags, _) => flags == TcpFlags.Syn);
            Assert.Equal(TcpFlags.Syn, syn.Flags);
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_client_given_back_after_the_netdev_closed_is_closed()
    {
        var options = new NetdevUserOptions { Ipv6 = false, Hostfwd = [new() { Str = "tcp:127.0.0.1:0-:8080" }] };
        var client = UserNetClient.Create("u-splice-late", UserNetConfigParser.Parse(options), TimeProvider.System, NullLogger.Instance);
        var splice = new GivingBackSplice();
        client.LoopbackSplice = splice;
        var port = (int)client.HostForwards[0].HostPort;
        using var host = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await host.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
        var (fd, fallback) = await splice.Taken.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await client.DisposeAsync();

        // Nowhere to go: the netdev closes it, and its client sees the end.
        fallback.GiveBack(fd);
        var buffer = new byte[1];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await host.ReceiveAsync(buffer, timeout.Token));
    }

    /// <summary>Takes the first client and leaves it to the test to give back.</summary>
    private sealed class GivingBackSplice : ILoopbackSplice
    {
        public TaskCompletionSource<(int Fd, ISpliceFallback Fallback)> Taken { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool TrySplice(int fd, bool ipv6, int guestPort, ISpliceFallback fallback) => Taken.TrySetResult((fd, fallback));
    }

    /// <summary>Records each offer; takes the descriptor (and closes it) or refuses.</summary>
    private sealed class RecordingSplice(bool take) : ILoopbackSplice, IDisposable
    {
        private readonly List<int> _taken = [];

        public System.Collections.Concurrent.ConcurrentQueue<(bool Ipv6, int GuestPort)> Offers { get; } = new();

        public bool TrySplice(int fd, bool ipv6, int guestPort, ISpliceFallback fallback)
        {
            Offers.Enqueue((ipv6, guestPort));
            if (take)
            {
                lock (_taken)
                {
                    _taken.Add(fd);
                }
            }

            return take;
        }

        public void Dispose()
        {
            lock (_taken)
            {
                foreach (var fd in _taken)
                {
                    Libc.Close(fd);
                }

                // Once: the netdev disposes its splice when it closes, and the test again after.
                _taken.Clear();
            }
        }
    }
}
