using Netdevd.Interop.Tests.User;

namespace Netdevd.Interop.Tests.Harness;

/// <summary>
/// The launcher that runs a command as on a kernel without IPv6 (<c>without-ipv6.c</c>: AF_INET6
/// sockets refused with EAFNOSUPPORT), compiled once per test run with gcc.
/// </summary>
internal static class WithoutIpv6
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? s_launcher;

    /// <summary>The launcher's path; skips the calling test without gcc.</summary>
    public static async Task<string> LauncherAsync()
    {
        HostTools.Require("gcc", "gcc");
        await Gate.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (s_launcher is null)
            {
                var source = Path.Combine(AppContext.BaseDirectory, "Harness", "without-ipv6.c");
                var output = Path.Combine(HostTools.TempDir(), "without-ipv6");
                await Shell.CheckAsync($"gcc -O2 -o {output} {source}");
                s_launcher = output;
            }

            return s_launcher;
        }
        finally
        {
            Gate.Release();
        }
    }
}
