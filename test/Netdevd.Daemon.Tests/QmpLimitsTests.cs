using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Netdevd.Daemon.Tests;

/// <summary>A real netdevd under QMP connection floods: with descriptors exhausted, and with more clients than it serves.</summary>
public sealed class QmpLimitsTests
{
    private const int DescriptorLimit = 300;
    private static readonly TimeSpan s_greetingPatience = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Qmp_keeps_accepting_after_descriptors_ran_out()
    {
        if (HostTools("prlimit") is null)
        {
            Assert.Skip("prlimit (util-linux) is missing");
        }

        var dir = Directory.CreateTempSubdirectory("nd-qmpfd-").FullName;
        var sock = Path.Combine(dir, "q.sock");
        var flood = new List<Socket>();
        try
        {
            await using var daemon = DaemonProcess.Start(
                ["--qmp", $"unix:{sock},server=on,wait=off", "--qmp-max-clients", "100000", "--netdev", "hubport,id=h,hubid=0"],
                launcher: ["prlimit", $"--nofile={DescriptorLimit}:{DescriptorLimit}", "--"]);
            await daemon.WaitForLogAsync(" ready: ", TimeSpan.FromSeconds(30));

            // Connect (with the client limit far above the descriptor limit) until the daemon
            // takes no more: it keeps its last descriptors for the runtime, which aborts the
            // process ("Out of memory.") when it cannot start a thread, so the next client is
            // closed at once, or left in the backlog, and gets no greeting.
            var exhausted = false;
            for (var i = 0; i < DescriptorLimit && !exhausted; i++)
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                flood.Add(s);
                try
                {
                    using var cts = new CancellationTokenSource(s_greetingPatience);
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(sock), cts.Token);
                    exhausted = !await ReadsGreetingAsync(s, cts.Token);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    exhausted = true;
                }
            }

            Assert.True(exhausted, $"{flood.Count} clients never exhausted {DescriptorLimit} descriptors");
            Assert.False(daemon.HasExited, "netdevd died: " + daemon.StandardError);

            foreach (var s in flood)
            {
                s.Dispose();
            }

            flood.Clear();

            // Served again once descriptors are back, several clients at once. The daemon notices the
            // flood's closes only as it reads them, so a client may still meet the limit or the
            // last refusals for a moment: try each for up to 20 s.
            var clients = new List<QmpClient>();
            try
            {
                for (var i = 0; i < 5; i++)
                {
                    clients.Add(await ConnectOnceServedAsync(sock));
                }

                foreach (var c in clients)
                {
                    Assert.NotNull((await c.ExecuteAsync("{\"execute\":\"query-version\"}"))["return"]);
                }
            }
            finally
            {
                clients.ForEach(c => c.Dispose());
            }

            Assert.False(daemon.HasExited, "netdevd died: " + daemon.StandardError);
            Assert.Contains("descriptors of the process's limit (300)", daemon.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            flood.ForEach(s => s.Dispose());
            Directory.Delete(dir, true);
        }
    }

    private static async Task<QmpClient> ConnectOnceServedAsync(string sock)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                return await QmpClient.ConnectAsync(sock);
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
        }
    }

    [Fact]
    public async Task The_client_limit_is_an_option_and_logged_once_per_burst()
    {
        var dir = Directory.CreateTempSubdirectory("nd-qmpcap-").FullName;
        var sock = Path.Combine(dir, "q.sock");
        try
        {
            await using var daemon = DaemonProcess.Start(["--qmp", $"unix:{sock},server=on,wait=off", "--qmp-max-clients", "2", "--netdev", "hubport,id=h,hubid=0"]);
            await daemon.WaitForLogAsync(" ready: ", TimeSpan.FromSeconds(30));
            using var a = await QmpClient.ConnectAsync(sock);
            using var b = await QmpClient.ConnectAsync(sock);
            for (var i = 0; i < 5; i++)
            {
                using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await s.ConnectAsync(new UnixDomainSocketEndPoint(sock), cts.Token);
                Assert.Equal(0, await s.ReceiveAsync(new byte[256], SocketFlags.None, cts.Token));
            }

            Assert.NotNull((await a.ExecuteAsync("{\"execute\":\"query-version\"}"))["return"]);

            // The console logger writes from a thread of its own: give it a moment.
            for (var i = 0; i < 100 && Count(daemon.StandardError, "refusing new clients") == 0; i++)
            {
                await Task.Delay(50);
            }

            Assert.Equal(1, Count(daemon.StandardError, "refusing new clients"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Memory_goes_back_down_after_a_64_MiB_token()
    {
        var dir = Directory.CreateTempSubdirectory("nd-qmpmem-").FullName;
        var sock = Path.Combine(dir, "q.sock");
        try
        {
            await using var daemon = DaemonProcess.Start(["--qmp", $"unix:{sock},server=on,wait=off", "--netdev", "hubport,id=h,hubid=0"]);
            await daemon.WaitForLogAsync(" ready: ", TimeSpan.FromSeconds(30));
            using var client = await QmpClient.ConnectAsync(sock);
            Assert.NotNull((await client.ExecuteAsync("{\"execute\":\"query-version\"}"))["return"]);
            var before = ResidentMib(daemon.Pid);

            // One string token just over QEMU's 64 MiB limit, then a command on the same connection.
            using (var raw = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
            {
                await raw.ConnectAsync(new UnixDomainSocketEndPoint(sock));
                var chunk = new byte[1 << 20];
                Array.Fill(chunk, (byte)'a');
                await raw.SendAsync("\""u8.ToArray());
                for (var i = 0; i <= 64; i++)
                {
                    await raw.SendAsync(chunk);
                }

                await raw.SendAsync("\n{\"execute\":\"qmp_capabilities\"}\n"u8.ToArray());
                var answers = new StringBuilder();
                var buffer = new byte[4096];
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                while (!answers.ToString().Contains("\"return\"", StringComparison.Ordinal))
                {
                    var n = await raw.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                    Assert.NotEqual(0, n);
                    answers.Append(Encoding.UTF8.GetString(buffer, 0, n));
                }

                Assert.Contains("JSON token size limit exceeded", answers.ToString(), StringComparison.Ordinal);

                // The client stays connected: what it sent must not stay resident for its lifetime.
                var after = ResidentMib(daemon.Pid);
                for (var i = 0; i < 100 && after > before + 32; i++)
                {
                    await Task.Delay(100);
                    after = ResidentMib(daemon.Pid);
                }

                Assert.True(after <= before + 32, $"resident {before} MiB before the token, {after} MiB after");
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    public async Task A_client_limit_below_one_is_refused(string value)
    {
        var (code, _, stderr) = await DaemonProcess.RunAsync("--qmp-max-clients", value, "--netdev", "hubport,id=h,hubid=0");

        Assert.Equal(1, code);
        Assert.Contains("--qmp-max-clients must be at least 1.", stderr, StringComparison.Ordinal);
    }

    private static long ResidentMib(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;

    private static int Count(string text, string what)
    {
        var n = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    private static async Task<bool> ReadsGreetingAsync(Socket s, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        var text = new StringBuilder();
        try
        {
            while (!text.ToString().Contains('\n', StringComparison.Ordinal))
            {
                var n = await s.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (n == 0)
                {
                    return false;
                }

                text.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }

            return text.ToString().StartsWith("{\"QMP\"", StringComparison.Ordinal);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static string? HostTools(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
