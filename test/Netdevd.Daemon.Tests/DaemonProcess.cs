using System.Diagnostics;
using System.Text;

namespace Netdevd.Daemon.Tests;

/// <summary>Runs the built netdevd (netdevd.dll beside the tests) as a user would, and ends only the process it started.</summary>
internal sealed class DaemonProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private DaemonProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string StandardOutput => Read(_stdout);

    public string StandardError => Read(_stderr);

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public int Pid => _process.Id;

    /// <summary>The names of the process's threads now (<c>ps -L</c>): where its netdevs move frames.</summary>
    public IReadOnlyList<string> ThreadNames =>
        [.. Directory.GetDirectories($"/proc/{Pid}/task").Select(ThreadName).OfType<string>()];

    /// <summary>The id of the process's thread named <paramref name="name"/> now; null when there is none.</summary>
    public int? ThreadIdOf(string name) =>
        Directory.GetDirectories($"/proc/{Pid}/task").Where(t => ThreadName(t) == name).Select(t => (int?)int.Parse(Path.GetFileName(t), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();

    /// <summary>A thread's name; null when it ended after the listing (netdevd's threads come and go).</summary>
    private static string? ThreadName(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n');
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <param name="launcher">A command that execs the rest (e.g. <c>prlimit --nofile=N:N</c>), so that <see cref="Pid"/> is still netdevd's.</param>
    public static DaemonProcess Start(IEnumerable<string> args, IDictionary<string, string>? environment = null, IReadOnlyList<string>? launcher = null, string? workingDirectory = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "netdevd.dll");
        var psi = new ProcessStartInfo(launcher is { Count: > 0 } ? launcher[0] : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        if (launcher is { Count: > 0 })
        {
            foreach (var a in launcher.Skip(1))
            {
                psi.ArgumentList.Add(a);
            }

            psi.ArgumentList.Add("dotnet");
        }

        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                psi.Environment[k] = v;
            }
        }

        return new DaemonProcess(Process.Start(psi)!);
    }

    /// <summary>Runs netdevd to completion (for options that make it exit).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        await using var p = Start(args);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p._process.WaitForExitAsync(cts.Token);
        p._process.WaitForExit(); // flush the async readers
        return (p.ExitCode, p.StandardOutput, p.StandardError);
    }

    /// <summary>Waits until stdout contains <paramref name="text"/>.</summary>
    public Task WaitForOutputAsync(string text, TimeSpan timeout) => WaitForAsync(() => StandardOutput, text, timeout);

    /// <summary>Waits until stderr (the log) contains <paramref name="text"/>.</summary>
    public Task WaitForLogAsync(string text, TimeSpan timeout) => WaitForAsync(() => StandardError, text, timeout);

    private async Task WaitForAsync(Func<string> output, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!output().Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException($"netdevd did not print '{text}'. stdout: {StandardOutput} stderr: {StandardError}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Sends SIGINT, as Ctrl-C would, and waits for the exit.</summary>
    public Task<int> InterruptAsync(TimeSpan timeout) => SignalAsync("-INT", timeout);

    /// <summary>Sends SIGTERM, as a service manager would, and waits for the exit.</summary>
    public Task<int> TerminateAsync(TimeSpan timeout) => SignalAsync("-TERM", timeout);

    private async Task<int> SignalAsync(string signal, TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", [signal, Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            // What the daemon logged tells how far its shutdown got.
            throw new TimeoutException($"netdevd did not exit within {timeout.TotalSeconds} s of SIG{signal.TrimStart('-')}. stderr: {StandardError}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder sb, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (sb)
        {
            sb.AppendLine(line);
        }
    }

    private static string Read(StringBuilder sb)
    {
        lock (sb)
        {
            return sb.ToString();
        }
    }
}
