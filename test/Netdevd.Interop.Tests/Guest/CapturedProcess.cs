using System.Diagnostics;
using System.Text;

namespace Netdevd.Interop.Tests.Guest;

/// <summary>
/// A long-running program (netdevd, QEMU, a server) whose stdout and stderr are collected for
/// assertions and failure messages. Dispose ends this process only, by its own PID.
/// </summary>
internal sealed class CapturedProcess : IDisposable
{
    private readonly Process _process;

    /// <summary>The process id (the same after setpriv execs the real program).</summary>
    public int Pid => _process.Id;
    private readonly StringBuilder _output = new();

    private CapturedProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit status, once <see cref="WaitForExit"/> returned true.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Both streams, interleaved as the lines arrived.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static CapturedProcess Start(string program, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        // stdin stays an open pipe: QEMU's -nographic multiplexes its monitor on it, and EOF on stdin must not matter.
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }

        return new CapturedProcess(Process.Start(start)!);
    }

    /// <summary>Waits until the output holds <paramref name="text"/>; false at the deadline or when the process ends first.</summary>
    public async Task<bool> WaitForAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                _process.WaitForExit(); // let the readers drain before the last look
                return Output.Contains(text, StringComparison.Ordinal);
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return true;
    }

    /// <summary>Waits for the exit; false when it is still running at the deadline.</summary>
    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already reaped.
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            // The serial console ends lines with CR LF.
            _output.Append(line.TrimEnd('\r')).Append('\n');
        }
    }
}
