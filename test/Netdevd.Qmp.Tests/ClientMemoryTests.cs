using System.Net.Sockets;
using System.Text;

namespace Netdevd.Qmp.Tests;

/// <summary>What one client can make the server hold: bounded, whatever it sends and however little it reads.</summary>
public sealed class ClientMemoryTests
{
    private const int Mib = 1 << 20;

    [Fact]
    public async Task A_client_that_never_reads_its_answers_cannot_make_the_server_hold_them_all()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();

        // Each request is a 1 MiB string cut by a newline: QEMU answers it with a 1 MiB
        // "JSON parse error, stray '...'" that this client never reads.
        var request = Encoding.ASCII.GetBytes("\n\"" + new string('a', Mib) + "\n");
        const int Requests = 160;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        long sent = 0;
        using var stop = new CancellationTokenSource();
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < Requests; i++)
            {
                for (var offset = 0; offset < request.Length;)
                {
                    var n = await client.Socket.SendAsync(request.AsMemory(offset, Math.Min(64 * 1024, request.Length - offset)), SocketFlags.None, stop.Token);
                    offset += n;
                    Interlocked.Add(ref sent, n);
                }
            }
        });

        // Until everything is sent or the server has stopped reading this client.
        var last = -1L;
        var stalledSince = DateTime.UtcNow;
        while (!sending.IsCompleted && DateTime.UtcNow - stalledSince < TimeSpan.FromSeconds(2))
        {
            await Task.Delay(100);
            var now = Interlocked.Read(ref sent);
            if (now != last)
            {
                last = now;
                stalledSince = DateTime.UtcNow;
            }
        }

        var held = GC.GetTotalMemory(forceFullCollection: true) - before;
        var queued = host.Server.QueuedBytes;
        await stop.CancelAsync();
        try
        {
            await sending;
        }
        catch (OperationCanceledException)
        {
        }

        // At most the outbox's byte limit plus the one message that went over it.
        Assert.True(queued <= new Server.QmpServerOptions().OutboxByteLimit + request.Length + 1024, $"{queued / Mib} MiB queued");
        Assert.True(held < 48L * Mib, $"the server held {held / Mib} MiB for one client that does not read ({Interlocked.Read(ref sent) / Mib} MiB sent)");
    }
}
