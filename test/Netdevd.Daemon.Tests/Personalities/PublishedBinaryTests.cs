using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Netdevd.Daemon.Tests.Personalities;

/// <summary>
/// What ships is the NativeAOT binary (./publish.sh), not the JIT build the other tests run: a
/// trimmed-away type or a reflection path that only the JIT has would show only there. ./test.sh
/// publishes it and names it in <see cref="Variable"/>; this starts it by the names its callers
/// use, as they use it.
/// </summary>
public sealed class PublishedBinaryTests
{
    /// <summary>The published netdevd (set by ./test.sh after ./publish.sh); unset, these tests are skipped.</summary>
    public const string Variable = "NETDEVD_AOT_BINARY";

    [Fact]
    public async Task Started_as_passt_the_published_binary_listens_writes_its_pid_and_leaves_with_its_client()
    {
        var dir = LinkedAs("passt", out var passt);
        try
        {
            var socket = Path.Combine(dir, "s.sock");
            var pidFile = Path.Combine(dir, "p.pid");

            // As libvirt starts it: from '/', stdin /dev/null; the first process exits 0 once the socket listens.
            var (code, stdout, stderr) = await RunAsync(
                passt,
                ["--one-off", "--socket", socket, "--pid", pidFile, "--log-file", Path.Combine(dir, "log"), "--tcp-ports", FreePort() + ":80"]);
            Assert.True(code == 0, $"passt exited {code}: {stdout}{stderr}");
            var pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
            try
            {
                using (var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
                {
                    await client.ConnectAsync(new UnixDomainSocketEndPoint(socket), TestContext.Current.CancellationToken);
                }

                // --one-off: the daemon goes when its first client has left.
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while (IsRunning(pid) && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(50, TestContext.Current.CancellationToken);
                }

                Assert.False(IsRunning(pid), $"passt (pid {pid}) still runs a minute after its one client left");
            }
            finally
            {
                if (IsRunning(pid))
                {
                    Process.GetProcessById(pid).Kill();
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_published_binary_answers_version_and_help_under_each_name()
    {
        var dir = LinkedAs("passt", out var passt);
        try
        {
            var slirp = Path.Combine(dir, "slirp4netns");
            File.CreateSymbolicLink(slirp, Environment.GetEnvironmentVariable(Variable)!);

            var version = await RunAsync(passt, ["--version"]);
            Assert.True(version.ExitCode == 0, version.Stderr);
            Assert.StartsWith("passt ", version.Stdout, StringComparison.Ordinal);

            var help = await RunAsync(passt, ["--help"]);
            Assert.True(help.ExitCode == 0, help.Stderr);
            Assert.Contains("--socket", help.Stdout, StringComparison.Ordinal);

            // rootlesskit refuses a slirp4netns whose help lacks --netns-type; podman looks for these.
            var slirpHelp = await RunAsync(slirp, ["--help"]);
            Assert.True(slirpHelp.ExitCode == 0, slirpHelp.Stderr);
            foreach (var option in (string[])["--netns-type", "--disable-host-loopback", "--mtu", "--cidr", "--enable-ipv6"])
            {
                Assert.Contains(option, slirpHelp.Stdout, StringComparison.Ordinal);
            }

            // Under its own name, the version of the JIT build (the commit after '+' may differ when
            // the binary was published from an earlier one).
            var netdevd = await RunAsync(Environment.GetEnvironmentVariable(Variable)!, ["--version"]);
            Assert.True(netdevd.ExitCode == 0, netdevd.Stderr);
            var jit = (await DaemonProcess.RunAsync("--version")).Stdout;
            Assert.Equal(jit.Split('+')[0], netdevd.Stdout.Split('+')[0]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_published_binary_raises_its_soft_descriptor_limit_to_the_hard_one()
    {
        // The JIT runtime raises it by itself; the NativeAOT binary keeps what it was given (a
        // login session's 1024, fewer than the flows it admits) unless netdevd raises it.
        var binary = Environment.GetEnvironmentVariable(Variable);
        Assert.SkipWhen(string.IsNullOrEmpty(binary), $"{Variable} is not set: ./test.sh sets it to the NativeAOT binary ./publish.sh builds");
        var psi = new ProcessStartInfo("prlimit") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--nofile=256:4096", "--", binary!, "--netdev", "hubport,id=h0,hubid=0"])
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        try
        {
            // prlimit execs netdevd in its own process: the same PID once /proc shows the binary,
            // and netdevd raises the limit first thing in Main.
            string[] limits = [];
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (DateTime.UtcNow < deadline && !process.HasExited && (limits.Length < 5 || limits[3] != "4096"))
            {
                if (File.ResolveLinkTarget($"/proc/{process.Id}/exe", returnFinalTarget: false)?.FullName == Path.GetFullPath(binary!))
                {
                    // "Max open files  SOFT  HARD  files"
                    limits = File.ReadLines($"/proc/{process.Id}/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
                        .Split(' ', StringSplitOptions.RemoveEmptyEntries);
                }

                await Task.Delay(20, TestContext.Current.CancellationToken);
            }

            Assert.True(limits.Length >= 5, $"netdevd did not start: {(process.HasExited ? process.StandardError.ReadToEnd() : "")}");
            Assert.Equal(["4096", "4096"], limits[3..5]);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Fact]
    public async Task The_published_binary_runs_its_frame_path_code_from_a_huge_page_unless_told_not_to()
    {
        var binary = Environment.GetEnvironmentVariable(Variable);
        Assert.SkipWhen(string.IsNullOrEmpty(binary), $"{Variable} is not set: ./test.sh sets it to the NativeAOT binary ./publish.sh builds");
        // The product's own check: huge pages on (THP always or madvise) and 2 MiB in size.
        Assert.SkipUnless(Netdevd.Native.TransparentHugePages.AreOffered(out var why), $"the move needs 2 MiB transparent huge pages: {why}");

        // The frame path's 2 MiB of code: an anonymous executable mapping backed by one huge page
        // (smaps: AnonHugePages 2048 kB), the rest of the code still the file's.
        var (moved, log) = await CodeMappingsAsync(binary!, hugeText: null);
        var anonymous = moved.Where(m => m.Path.Length == 0).ToList();
        Assert.True(
            anonymous.Count == 1,
            "expected one anonymous code mapping, got: " + string.Join(" | ", moved.Select(m => m.Header)) + "; netdevd said: " + string.Join(" | ", log));
        Assert.Equal(2048, anonymous[0].SizeKb);
        Assert.Equal(2048, anonymous[0].AnonHugeKb);
        Assert.Contains(moved, m => m.Path == Path.GetFullPath(binary!));

        // NETDEVD_HUGE_TEXT=0 (for profilers that name code by its file): all of it from the file.
        var (kept, _) = await CodeMappingsAsync(binary!, hugeText: "0");
        Assert.DoesNotContain(kept, m => m.Path.Length == 0);
    }

    [Fact]
    public async Task With_a_uprobe_in_its_code_the_published_binary_keeps_the_files_pages_and_says_why()
    {
        // A uprobe (perf probe, bpftrace) is an int3 the kernel writes into each process's copy of
        // the probed page: copied onto the huge page it would trap with no probe behind it and
        // kill netdevd. The probe here sits on the binary's entry point, inside the moved window.
        var binary = Environment.GetEnvironmentVariable(Variable);
        Assert.SkipWhen(string.IsNullOrEmpty(binary), $"{Variable} is not set: ./test.sh sets it to the NativeAOT binary ./publish.sh builds");
        const string tracing = "/sys/kernel/tracing";
        Assert.SkipUnless(Environment.UserName == "root" && File.Exists($"{tracing}/uprobe_events"), $"needs root and tracefs at {tracing} to place a uprobe (CI runs as root)");
        var path = Path.GetFullPath(binary!);
        var group = $"netdevd_test_{Environment.ProcessId}";
        File.AppendAllText($"{tracing}/uprobe_events", $"p:{group}/entry {path}:0x{EntryFileOffset(path):x}\n");
        try
        {
            File.WriteAllText($"{tracing}/events/{group}/entry/enable", "1");
            var (mappings, log) = await CodeMappingsAsync(path, hugeText: null);
            Assert.DoesNotContain(mappings, m => m.Path.Length == 0);
            Assert.Contains(log, l => l.Contains("stays on small pages", StringComparison.Ordinal) && l.Contains("differs from the binary's", StringComparison.Ordinal));

            // The probe was there and fired (netdevd ran past its entry point with it).
            // uprobe_profile: "  FILE EVENT HITS" (the event without its group; the file is this test's).
            var hits = File.ReadLines($"{tracing}/uprobe_profile").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Single(f => f.Length == 3 && f[0] == path && f[1] == "entry");
            Assert.True(long.Parse(hits[2], CultureInfo.InvariantCulture) > 0, string.Join(' ', hits));
        }
        finally
        {
            File.WriteAllText($"{tracing}/events/{group}/entry/enable", "0");
            File.AppendAllText($"{tracing}/uprobe_events", $"-:{group}/entry\n");
        }
    }

    /// <summary>Where in <paramref name="elf"/> the entry point's instruction is: e_entry translated through the PT_LOAD that holds it.</summary>
    private static long EntryFileOffset(string elf)
    {
        var bytes = File.ReadAllBytes(elf);
        var entry = BitConverter.ToInt64(bytes, 24);
        var phoff = BitConverter.ToInt64(bytes, 32);
        var phentsize = BitConverter.ToUInt16(bytes, 54);
        var phnum = BitConverter.ToUInt16(bytes, 56);
        for (var i = 0; i < phnum; i++)
        {
            var h = (int)phoff + (i * phentsize);
            var (type, offset, vaddr, filesz) = (BitConverter.ToUInt32(bytes, h), BitConverter.ToInt64(bytes, h + 8), BitConverter.ToInt64(bytes, h + 16), BitConverter.ToInt64(bytes, h + 32));
            if (type == 1 && vaddr <= entry && entry < vaddr + filesz)
            {
                return entry - vaddr + offset;
            }
        }

        throw new InvalidDataException($"{elf}: no loadable segment holds the entry point 0x{entry:x}");
    }

    /// <summary>The executable mappings of <paramref name="binary"/> and its libraries once it is ready (it moves the code before anything else).</summary>
    private static async Task<(List<(string Header, string Path, int SizeKb, int AnonHugeKb)> Mappings, List<string> Log)> CodeMappingsAsync(string binary, string? hugeText)
    {
        var psi = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--netdev", "hubport,id=h0,hubid=0"])
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["NETDEVD_HUGE_TEXT"] = hugeText;
        using var process = Process.Start(psi)!;
        try
        {
            // The ready line comes after the move.
            var ready = new TaskCompletionSource();
            var log = new List<string>();
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (log)
                {
                    log.Add(e.Data);
                }

                if (e.Data.Contains(" ready: ", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            };
            process.BeginErrorReadLine();
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

            var mappings = new List<(string Header, string Path, int SizeKb, int AnonHugeKb)>();
            string? header = null;
            var size = 0;
            foreach (var line in File.ReadLines($"/proc/{process.Id}/smaps"))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length >= 5 && fields[0].Contains('-', StringComparison.Ordinal) && !fields[0].EndsWith(':'))
                {
                    header = fields[1] == "r-xp" ? line : null;
                }
                else if (header is not null && fields[0] == "Size:")
                {
                    size = int.Parse(fields[1], CultureInfo.InvariantCulture);
                }
                else if (header is not null && fields[0] == "AnonHugePages:")
                {
                    var h = header.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                    mappings.Add((header, h.Length > 5 ? h[5].Trim() : "", size, int.Parse(fields[1], CultureInfo.InvariantCulture)));
                    header = null;
                }
            }

            lock (log)
            {
                return (mappings, [.. log]);
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            }
        }
    }

    /// <summary>A directory of the test's own with <paramref name="name"/> linked to the published binary.</summary>
    private static string LinkedAs(string name, out string path)
    {
        var binary = Environment.GetEnvironmentVariable(Variable);
        Assert.SkipWhen(string.IsNullOrEmpty(binary), $"{Variable} is not set: ./test.sh sets it to the NativeAOT binary ./publish.sh builds");
        Assert.True(File.Exists(binary), $"{Variable}={binary}: no such file");
        var dir = Directory.CreateTempSubdirectory("nd-aot-").FullName;
        path = Path.Combine(dir, name);
        File.CreateSymbolicLink(path, binary!);
        return dir;
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string program, string[] args)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static bool IsRunning(int pid) => Directory.Exists($"/proc/{pid}");

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
