namespace Netdevd.Interop.Tests.Harness;

/// <summary>Finds host programs the interop tests drive, and says why a test must skip.</summary>
internal static class HostTools
{
    public static string? Find(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (var dir in new[] { "/usr/sbin", "/sbin", "/usr/bin", "/usr/libexec" })
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Skips the calling test unless <paramref name="program"/> is installed (test.sh installs it as root).</summary>
    public static string Require(string program, string package)
    {
        var path = Find(program);
        Assert.SkipWhen(path is null, $"{program} is not installed (Debian package {package}; ./test.sh installs it when run as root)");
        return path!;
    }

    public static bool IsRoot => Environment.IsPrivilegedProcess;

    /// <summary>
    /// A fresh, private directory for one test's sockets; short enough for sun_path. Removed when
    /// the test process exits, so no test can leave it behind however it ends.
    /// </summary>
    public static string TempDir()
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        lock (TempDirs)
        {
            if (TempDirs.Count == 0)
            {
                AppDomain.CurrentDomain.ProcessExit += static (_, _) => RemoveTempDirs();
            }

            TempDirs.Add(dir);
        }

        return dir;
    }

    private static readonly List<string> TempDirs = [];

    private static void RemoveTempDirs()
    {
        lock (TempDirs)
        {
            foreach (var dir in TempDirs)
            {
                try
                {
                    if (Directory.Exists(dir))
                    {
                        Directory.Delete(dir, recursive: true);
                    }
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
    }

    /// <summary>A free TCP/UDP port on loopback, picked by the kernel.</summary>
    public static int FreePort(System.Net.Sockets.SocketType type = System.Net.Sockets.SocketType.Stream)
    {
        var proto = type == System.Net.Sockets.SocketType.Dgram ? System.Net.Sockets.ProtocolType.Udp : System.Net.Sockets.ProtocolType.Tcp;
        using var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, type, proto);
        s.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)s.LocalEndPoint!).Port;
    }
}
