using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// What a guest's frame touches in the user netdev, as its peer's I/O thread records it to read
/// after a sleep (HotObjects): the engine's side (the stack's counters among it), recorded once
/// even when the walk meets the netdev again, and read while frames flow without a fault.
/// </summary>
public sealed class UserNetHotObjectsTests
{
    [Fact]
    public async Task The_user_netdev_records_its_stack_beside_its_own_objects_and_is_read_while_frames_flow()
    {
        var client = UserNetClient.Create("u-hot", UserNetConfigParser.Parse(new NetdevUserOptions()), TimeProvider.System, NullLogger.Instance);
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            var own = new HotObjects();
            Assert.True(guest.CollectHot(own));
            var hot = new HotObjects();
            Assert.True(guest.CollectHot(hot));
            Assert.True(client.CollectHot(hot));

            Assert.True(hot.Contains(client));
            Assert.True(hot.Contains(client.Counters));
            Assert.True(hot.Count > 2 * own.Count, $"{hot.Count} objects recorded for the guest and the user netdev, {own.Count} for the guest alone");
            Assert.False(client.CollectHot(hot));

            // Recorded and read again while the stack answers ARP requests on its own thread.
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            var traffic = Task.Run(
                () =>
                {
                    while (!cts.IsCancellationRequested)
                    {
                        guest.Inject(Nat.GuestFrames.ArpRequest(Nat.GuestFrames.Host));
                    }
                },
                cts.Token);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (guest.Received.Count < 100 && DateTime.UtcNow < deadline)
            {
                hot.Clear();
                guest.CollectHot(hot);
                client.CollectHot(hot);
                hot.Touch();
            }

            await cts.CancelAsync();
            await traffic.ContinueWith(_ => { }, TestContext.Current.CancellationToken);
            Assert.True(guest.Received.Count >= 100, $"{guest.Received.Count} ARP replies in 10 s");
        }
        finally
        {
            await client.DisposeAsync();
        }
    }
}
