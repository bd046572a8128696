using System.Buffers.Binary;
using System.Net.Sockets;
using Netdevd.Interop.Tests.Guest;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.VhostUser;

/// <summary>
/// The listening ends of vhost-user in a daemon that ran out of descriptors while a front-end (or
/// back-end) connected: the failed accept must not end the netdev's accepting, or the VM behind
/// it hangs until netdev_del. The daemon's soft descriptor limit is lowered to its lowest free
/// descriptor so that accept fails with EMFILE, then put back.
/// </summary>
public sealed class VhostUserAcceptRecoveryTests
{
    private const uint GetFeatures = 1;
    private const uint ReplyFlag = 0x4;
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_backend_server_accepts_a_front_end_again_once_descriptors_are_back()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("prlimit", "util-linux");
        var dir = HostTools.TempDir();
        var path = Path.Combine(dir, "vhost.sock");
        using var daemon = StartDaemon(dir, "--netdev", $"vhost-user-backend,id=v,addr.type=unix,addr.path={path}");
        Assert.True(await daemon.WaitForAsync("ready", Startup), daemon.Output);
        using (var first = await ConnectAsync(path))
        {
            Assert.True(await GetFeaturesAsync(first, TimeSpan.FromSeconds(5)) is not null, daemon.Output);
        }

        // The first session's socket closed before the limit is taken, or it would free one below it.
        Assert.True(await daemon.WaitForAsync("front-end gone", TimeSpan.FromSeconds(10)), daemon.Output);
        await using (var starved = await DescriptorStarvation.BeginAsync(daemon.Pid))
        {
            // This front-end's accept fails (EMFILE); it gives up and closes while it waits.
            using var refused = await ConnectAsync(path);
            await Task.Delay(500);
            refused.Dispose();
            await starved.RestoreAsync();
        }

        // Descriptors back: a front-end that comes now is served within 5 s, without recreating
        // the netdev (its connect is refused while the closed one still fills the backlog).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        ulong? features = null;
        while (features is null && DateTime.UtcNow < deadline)
        {
            Socket again;
            try
            {
                again = await ConnectAsync(path);
            }
            catch (SocketException)
            {
                await Task.Delay(100);
                continue;
            }

            using (again)
            {
                features = await GetFeaturesAsync(again, TimeSpan.FromTicks(Math.Max(0, (deadline - DateTime.UtcNow).Ticks)));
            }
        }

        Assert.True(features is not null, $"no GET_FEATURES reply within 5 s of the limit being restored\n{daemon.Output}");
    }

    [Fact]
    public async Task A_front_end_on_a_server_chardev_accepts_a_back_end_again_once_descriptors_are_back()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("prlimit", "util-linux");
        var dir = HostTools.TempDir();
        var path = Path.Combine(dir, "vhost.sock");
        var backendSpec = $"vhost-user-backend,id=b,addr.type=unix,addr.path={path},server=off,reconnect-ms=200";

        // The front-end's netdev is created once a back-end is set up: start it, then its back-end.
        using var frontend = StartDaemon(dir, "-chardev", $"socket,id=c,path={path},server=on,wait=off", "--netdev", "vhost-user,id=f,chardev=c");
        var backend = StartDaemon(dir, "--netdev", backendSpec);
        try
        {
            Assert.True(await frontend.WaitForAsync("ready", Startup), $"{frontend.Output}\n--- back-end ---\n{backend.Output}");
            Assert.Equal(1, SetUps(frontend));

            // The back-end goes; the front-end waits for the next one on its chardev.
            backend.Dispose();
            Assert.True(await frontend.WaitForAsync("back-end disconnected", TimeSpan.FromSeconds(10)), frontend.Output);

            await using (var starved = await DescriptorStarvation.BeginAsync(frontend.Pid))
            {
                // The next back-end connects while the front-end's accept fails (EMFILE): it waits in the backlog.
                backend = StartDaemon(dir, "--netdev", backendSpec);
                Assert.True(await backend.WaitForAsync("ready", Startup), backend.Output);
                await Task.Delay(1000);
                Assert.Equal(1, SetUps(frontend));
                await starved.RestoreAsync();
            }

            // Descriptors back: the waiting back-end is set up within 5 s, without recreating the netdev.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (SetUps(frontend) < 2 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.True(SetUps(frontend) == 2, $"the back-end was not set up within 5 s of the limit being restored\n{frontend.Output}\n--- back-end ---\n{backend.Output}");
        }
        finally
        {
            backend.Dispose();
        }
    }

    /// <summary>Back-ends the front-end's netdev has set up so far (it logs each).</summary>
    private static int SetUps(CapturedProcess frontend) =>
        frontend.Output.Split('\n').Count(line => line.Contains("back-end connected, features", StringComparison.Ordinal));

    private static CapturedProcess StartDaemon(string dir, params string[] args) =>
        CapturedProcess.Start(Path.Combine(AppContext.BaseDirectory, "netdevd"), args, new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = dir });

    private static async Task<Socket> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>VHOST_USER_GET_FEATURES as a front-end sends it (header: request, flags with version 1, size); the features, or null without a reply in time.</summary>
    private static async Task<ulong?> GetFeaturesAsync(Socket socket, TimeSpan timeout)
    {
        var request = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(request, GetFeatures);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(4), 1);
        await socket.SendAsync(request);
        var reply = new byte[20];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var read = 0;
            while (read < reply.Length)
            {
                var n = await socket.ReceiveAsync(reply.AsMemory(read), cts.Token);
                if (n == 0)
                {
                    return null;
                }

                read += n;
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }

        Assert.Equal(GetFeatures, BinaryPrimitives.ReadUInt32LittleEndian(reply));
        Assert.NotEqual(0u, BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4)) & ReplyFlag);
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(8)));
        return BinaryPrimitives.ReadUInt64LittleEndian(reply.AsSpan(12));
    }
}
