using System.Diagnostics;

namespace Netdevd.Interop.Tests.Harness;

/// <summary>
/// A real QEMU (Debian's qemu-system-x86) run headless as a frame forwarder:
/// <c>-M none -nodefaults -display none</c> with the given netdevs, each plugged into hub 0,
/// so a frame entering one netdev leaves by every other. Killed by its own PID on dispose.
/// </summary>
internal sealed class QemuForwarder : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;
    private readonly System.Text.StringBuilder _stderr;

    private QemuForwarder(Process process, string dir, QmpTestClient qmp, System.Text.StringBuilder stderr)
    {
        _process = process;
        _dir = dir;
        Qmp = qmp;
        _stderr = stderr;
    }

    public QmpTestClient Qmp { get; }

    public int Pid => _process.Id;

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>
    /// Starts QEMU with <paramref name="netdevs"/> (each a -netdev argument with an <c>id=</c>
    /// given as <paramref name="ids"/>), hubbed together on hub 0.
    /// </summary>
    public static async Task<QemuForwarder> StartAsync(IReadOnlyList<(string Id, string Spec)> netdevs, bool hub = true)
    {
        var qemu = HostTools.Require("qemu-system-x86_64", "qemu-system-x86");
        var dir = HostTools.TempDir();
        var qmpPath = Path.Combine(dir, "qmp.sock");
        var psi = new ProcessStartInfo(qemu)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-M", "none", "-nodefaults", "-display", "none", "-qmp", $"unix:{qmpPath},server=on,wait=off" })
        {
            psi.ArgumentList.Add(a);
        }

        var i = 0;
        foreach (var (id, spec) in netdevs)
        {
            psi.ArgumentList.Add("-netdev");
            psi.ArgumentList.Add(spec);
            if (hub)
            {
                psi.ArgumentList.Add("-netdev");
                psi.ArgumentList.Add($"hubport,id=hp{i++},hubid=0,netdev={id}");
            }
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("qemu did not start");
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var qmp = await QmpTestClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(20));
            return new QemuForwarder(process, dir, qmp, stderr);
        }
        catch (Exception e)
        {
            process.Kill();
            await process.WaitForExitAsync();
            string err;
            lock (stderr)
            {
                err = stderr.ToString();
            }

            throw new InvalidOperationException($"QEMU did not come up: {e.Message}; stderr: {err}", e);
        }
    }

    /// <summary>Runs QEMU once with -netdev arguments and returns its exit code and stderr (for option-parsing comparisons).</summary>
    public static async Task<(int ExitCode, string StandardError)> ProbeNetdevsAsync(IEnumerable<string> specs)
    {
        var qemu = HostTools.Require("qemu-system-x86_64", "qemu-system-x86");
        var psi = new ProcessStartInfo(qemu)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-M", "none", "-nodefaults", "-display", "none", "-S", "-qmp", "stdio" })
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var spec in specs)
        {
            psi.ArgumentList.Add("-netdev");
            psi.ArgumentList.Add(spec);
        }

        using var p = Process.Start(psi)!;
        var errTask = p.StandardError.ReadToEndAsync();
        var outTask = p.StandardOutput.ReadToEndAsync();

        // With -qmp stdio a QEMU that accepted its options waits for commands: tell it to quit.
        // A QEMU that refused them has exited already, and writing to its closed stdin fails with
        // a broken pipe (seen in CI): that is its verdict, not an error of the probe.
        try
        {
            await p.StandardInput.WriteLineAsync("{\"execute\":\"qmp_capabilities\"}");
            await p.StandardInput.WriteLineAsync("{\"execute\":\"quit\"}");
            p.StandardInput.Close();
        }
        catch (IOException)
        {
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(cts.Token);
        await outTask;
        return (p.ExitCode, await errTask);
    }

    public async ValueTask DisposeAsync()
    {
        await Qmp.DisposeAsync();
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Kills QEMU (to test reconnects) without disposing the harness.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }
}
