using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;
using Netdevd.UserNet.Nat;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// A UDP host forward's table of clients (the listener's, beside the stack's flows) against
/// clients that never come back, as a resolver's one-query source ports: an entry must leave with
/// its flow, or the table grows by one per client for as long as the netdev runs.
/// </summary>
[Collection(nameof(UserNetHostIoTests))]
public sealed class UdpForwardClientTableTests
{
    private const int IdleTimeoutMs = 1000;

    [Fact]
    public async Task A_udp_forwards_client_table_holds_only_the_clients_of_live_flows_across_expiry_periods()
    {
        var time = new CountingTimeProvider();
        var options = new NetdevUserOptions { Ipv6 = false, Hostfwd = [new() { Str = "udp:127.0.0.1:0-:5353" }] };
        var client = UserNetClient.Create("u-udpfwd", UserNetConfigParser.Parse(options), time, NullLogger.Instance,
            new NatLimits { UdpIdleTimeoutMs = IdleTimeoutMs });
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            var forward = new IPEndPoint(IPAddress.Loopback, (int)client.HostForwards[0].HostPort);
            const int ClientsPerPeriod = 20;
            const int Periods = 4;
            for (var period = 0; period < Periods; period++)
            {
                // Each client sends once from its own port and is gone. The sockets stay open until
                // the flows are counted: closed at once, a port could come back for the next
                // client of the same period, two clients would be one flow, and the count would
                // never reach one per client (a full run here saw it once).
                var senders = new List<UdpClient>();
                try
                {
                    for (var i = 0; i < ClientsPerPeriod; i++)
                    {
                        var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
                        senders.Add(udp);
                        await udp.SendAsync(new byte[] { (byte)i }, forward, TestContext.Current.CancellationToken);
                    }

                    await Eventually.WaitUntilAsync(() => client.UdpForwardClients.StackFlows == ClientsPerPeriod, "the stack opened a flow per client");
                    Assert.Equal(ClientsPerPeriod, client.UdpForwardClients.ListenerClients);
                }
                finally
                {
                    senders.ForEach(c => c.Dispose());
                }

                // Past the idle timeout: the flows expire, and their clients must leave the listener's table.
                await Eventually.WaitUntilAsync(
                    () =>
                    {
                        time.Fake.Advance(TimeSpan.FromMilliseconds(IdleTimeoutMs + 100));
                        return client.UdpForwardClients.StackFlows == 0;
                    },
                    "the flows expired");
                var (clients, flows) = client.UdpForwardClients;
                Assert.True(clients <= flows, $"after {period + 1} expiry periods the listener holds {clients} clients for {flows} live flows");
            }
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
        }
    }
}
