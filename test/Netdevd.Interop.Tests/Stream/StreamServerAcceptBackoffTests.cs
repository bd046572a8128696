using System.Globalization;
using System.Net;
using Netdevd.Interop.Tests.Guest;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Stream;

/// <summary>
/// A stream server in a daemon that ran out of descriptors while a client connects: the listener
/// must wait for descriptors instead of polling a listener it cannot accept from (one core at
/// 100%), and must take the waiting client once they are back.
/// </summary>
public sealed class StreamServerAcceptBackoffTests
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_stream_server_out_of_descriptors_waits_without_spinning_and_then_takes_the_waiting_client()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("prlimit", "util-linux");
        var dir = HostTools.TempDir();
        var starvedPort = HostTools.FreePort();
        var otherPort = HostTools.FreePort();

        // Two servers on one hub: a frame from the client of one comes out of the other.
        using var daemon = CapturedProcess.Start(Path.Combine(AppContext.BaseDirectory, "netdevd"),
        [
            "--netdev", Server("s1", starvedPort), "--netdev", Server("s2", otherPort),
            "--netdev", "hubport,id=h1,hubid=0,netdev=s1", "--netdev", "hubport,id=h2,hubid=0,netdev=s2",
        ], new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = dir });
        Assert.True(await daemon.WaitForAsync("ready", Startup), daemon.Output);
        await using var other = await StreamFramePeer.ConnectAsync(new IPEndPoint(IPAddress.Loopback, otherPort), Startup);
        await Task.Delay(500); // the other server's accept is done before the limit is taken

        StreamFramePeer client;
        await using (var starved = await DescriptorStarvation.BeginAsync(daemon.Pid))
        {
            // The client's connection completes in the kernel and waits in the backlog: accept fails (EMFILE).
            client = await StreamFramePeer.ConnectAsync(new IPEndPoint(IPAddress.Loopback, starvedPort), TimeSpan.FromSeconds(10));
            await Task.Delay(300);
            var cpu = await DescriptorStarvation.CpuTimeOverAsync(daemon.Pid, TimeSpan.FromSeconds(1));
            TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"daemon CPU over 1 s while accept failed: {cpu.TotalSeconds:F2} s"));
            Assert.True(cpu < TimeSpan.FromSeconds(0.2), string.Create(CultureInfo.InvariantCulture, $"the daemon used {cpu.TotalSeconds:F2} s of CPU in 1 s while accept failed"));
            await starved.RestoreAsync();
        }

        // Descriptors back: the waiting client is taken and its frames reach the hub.
        await using (client)
        {
            var frame = Frames.Make(100, 1);
            await client.SendAsync(frame);
            Assert.Equal(frame, await other.ReceiveAsync(TimeSpan.FromSeconds(10)));
        }
    }

    private static string Server(string id, int port) => $"stream,id={id},server=on,addr.type=inet,addr.host=127.0.0.1,addr.port={port}";
}
