using System.Diagnostics;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.Vde;

/// <summary>
/// A real vde_switch (Debian package vde2) with a switch directory of its own, in the foreground
/// with its console on a pipe held open (it quits at end of input); killed by PID on dispose.
/// </summary>
internal sealed class VdeSwitch : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private VdeSwitch(Process process, string dir)
    {
        _process = process;
        _dir = dir;
        Path = System.IO.Path.Combine(dir, "sw");
    }

    /// <summary>The switch directory (holds <c>ctl</c>): what <c>sock=</c> names.</summary>
    public string Path { get; }

    public static VdeSwitch Start()
    {
        var exe = HostTools.Require("vde_switch", "vde2");
        var dir = HostTools.TempDir();
        var psi = new ProcessStartInfo(exe) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-s");
        psi.ArgumentList.Add(System.IO.Path.Combine(dir, "sw"));
        var process = Process.Start(psi) ?? throw new InvalidOperationException("vde_switch did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var sw = new VdeSwitch(process, dir);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.Exists(System.IO.Path.Combine(sw.Path, "ctl")))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                sw.Dispose();
                throw new InvalidOperationException("vde_switch did not create its ctl socket");
            }

            Thread.Sleep(20);
        }

        return sw;
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
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
