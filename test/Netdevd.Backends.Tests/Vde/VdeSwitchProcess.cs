using System.Diagnostics;

namespace Netdevd.Backends.Tests.Vde;

/// <summary>
/// A real vde_switch (Debian package vde2) with a private switch directory, run in the
/// foreground with its console on a pipe we hold open (it exits at end of input), and killed by
/// its own PID on dispose.
/// </summary>
internal sealed class VdeSwitchProcess : IDisposable
{
    private readonly Process _process;

    private VdeSwitchProcess(Process process, string dir, string switchDir)
    {
        _process = process;
        Dir = dir;
        SwitchDir = switchDir;
    }

    /// <summary>The directory holding the switch's <c>ctl</c> socket (what <c>sock=</c> names).</summary>
    public string SwitchDir { get; }

    public string Dir { get; }

    public static string? Find()
    {
        foreach (var dir in new[] { "/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin" })
        {
            var p = Path.Combine(dir, "vde_switch");
            if (File.Exists(p))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>Starts a switch, or skips the test when vde_switch is not installed.</summary>
    public static VdeSwitchProcess Start(params string[] extraArgs)
    {
        var exe = Find();
        Assert.SkipWhen(exe is null, "vde_switch is not installed (Debian package vde2; ./test.sh installs it when run as root)");
        var dir = Directory.CreateTempSubdirectory("nd-vde-").FullName;
        var switchDir = Path.Combine(dir, "sw");
        var psi = new ProcessStartInfo(exe!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["-s", switchDir, .. extraArgs])
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("vde_switch did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var ctl = Path.Combine(switchDir, "ctl");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.Exists(ctl))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"vde_switch did not create {ctl}");
            }

            Thread.Sleep(20);
        }

        return new VdeSwitchProcess(process, dir, switchDir);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.WaitForExit();
        _process.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
