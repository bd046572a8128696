using System.Diagnostics;

namespace Netdevd.Interop.Tests.Tap;

/// <summary>Runs a host program to completion with a time limit and returns its status and output.</summary>
internal static class HostCommand
{
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string program, params string[] args) =>
        await RunWithTimeoutAsync(TimeSpan.FromSeconds(60), program, args);

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunWithTimeoutAsync(TimeSpan timeout, string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            return (-1, await stdout, await stderr + $"\n(timed out after {timeout})");
        }

        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs and asserts success, returning stdout.</summary>
    public static async Task<string> CheckAsync(string program, params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync(program, args);
        Assert.True(code == 0, $"{program} {string.Join(' ', args)} exited {code}: {stderr}{stdout}");
        return stdout;
    }
}
