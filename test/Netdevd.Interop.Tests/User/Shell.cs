using System.Diagnostics;

namespace Netdevd.Interop.Tests.User;

/// <summary>Runs a /bin/sh command line with a timeout and returns its status and output (ends only what it started).</summary>
internal static class Shell
{
    public static async Task<(int Status, string Output)> RunAsync(string command, TimeSpan? timeout = null, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                start.Environment[k] = v;
            }
        }

        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            return (-1, $"timed out: {command}\n{await stdout}{await stderr}");
        }

        return (p.ExitCode, (await stdout) + (await stderr));
    }

    /// <summary>Runs and asserts status 0, returning the output.</summary>
    public static async Task<string> CheckAsync(string command, TimeSpan? timeout = null)
    {
        var (status, output) = await RunAsync(command, timeout);
        Assert.True(status == 0, $"`{command}` exited {status}:\n{output}");
        return output;
    }

    /// <summary>
    /// Starts a long-running command (a server) in the background; kill it with <see cref="Stop"/>.
    /// Its output lines go to <paramref name="output"/> when given, and are dropped otherwise.
    /// </summary>
    public static Process Start(string command, Action<string>? output = null)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec " + command);
        var p = Process.Start(start)!;
        p.OutputDataReceived += (_, e) => Take(e.Data);
        p.ErrorDataReceived += (_, e) => Take(e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;

        void Take(string? line)
        {
            if (line is not null)
            {
                output?.Invoke(line);
            }
        }
    }

    public static void Stop(Process? p)
    {
        if (p is null)
        {
            return;
        }

        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        p.Dispose();
    }
}
