using System.ComponentModel;
using System.Diagnostics;
using Netdevd.Qapi.Errors;

namespace Netdevd.Backends.Tap;

/// <summary>
/// QEMU's launch_script: runs the tap's up/down script with the interface name as its one
/// argument and waits for it. A non-zero result is an error whose number is the raw waitpid
/// status, as QEMU prints it (exit code 1 shows as 256).
/// </summary>
internal static class NetworkScript
{
    /// <summary>QEMU's build-time defaults on a distribution build ($sysconfdir = /etc).</summary>
    public const string DefaultUp = "/etc/qemu-ifup";

    public const string DefaultDown = "/etc/qemu-ifdown";

    /// <summary>"no" or an empty value disables a script.</summary>
    public static bool IsDisabled(string? script) => string.IsNullOrEmpty(script) || script == "no";

    public static async Task RunAsync(string script, string ifname)
    {
        var start = new ProcessStartInfo(script) { UseShellExecute = false };
        start.ArgumentList.Add(ifname);
        int status;
        try
        {
            using var process = Process.Start(start) ?? throw new Win32Exception();
            await process.WaitForExitAsync().ConfigureAwait(false);
            status = RawStatus(process.ExitCode);
        }
        catch (Win32Exception)
        {
            // QEMU's child exits 1 when execv fails (missing or not executable): status 256.
            status = 1 << 8;
        }

        if (status != 0)
        {
            throw new QapiException($"network script {script} failed with status {status}");
        }
    }

    /// <summary>
    /// waitpid's status from .NET's exit code: exit(n) is n &lt;&lt; 8; .NET reports death by
    /// signal s as 128 + s, which waitpid reports as s.
    /// </summary>
    private static int RawStatus(int exitCode) => exitCode > 128 && exitCode < 128 + 65 ? exitCode - 128 : (exitCode & 0xff) << 8;
}
