using System.Diagnostics;

namespace Netdevd.Interop.Tests.L2tpv3;

/// <summary>
/// A network namespace of the test's own (unique name), with helpers to run commands in it;
/// deleted on dispose together with everything in it. Needs root.
/// </summary>
internal sealed class NetnsScope : IDisposable
{
    private readonly List<Process> _background = [];

    private NetnsScope(string name) => Name = name;

    public string Name { get; }

    public static NetnsScope Create(string prefix)
    {
        var name = $"{prefix}-{Environment.ProcessId}-{Random.Shared.Next(100000)}";
        Run("ip", "netns", "add", name);
        var scope = new NetnsScope(name);
        scope.Exec("ip", "link", "set", "lo", "up");
        return scope;
    }

    /// <summary>Runs a program on the host and returns its output; throws with its stderr when it fails.</summary>
    public static string Run(string program, params string[] args)
    {
        var (code, output) = TryRun(program, args);
        return code == 0 ? output : throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({code}): {output}");
    }

    public static (int Code, string Output) TryRun(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr);
    }

    /// <summary>Runs a program inside the namespace.</summary>
    public string Exec(string program, params string[] args) => Run("ip", ["netns", "exec", Name, program, .. args]);

    public (int Code, string Output) TryExec(string program, params string[] args) => TryRun("ip", ["netns", "exec", Name, program, .. args]);

    /// <summary>Starts a long-running program inside the namespace (stdin held open); killed by PID on dispose.</summary>
    public Process Start(string program, params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["netns", "exec", Name, program, .. args])
        {
            psi.ArgumentList.Add(a);
        }

        var p = Process.Start(psi)!;
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _background.Add(p);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _background)
        {
            if (!p.HasExited)
            {
                p.Kill();
            }

            p.WaitForExit();
            p.Dispose();
        }

        _ = TryRun("ip", "netns", "delete", Name);
    }
}
