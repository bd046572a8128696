namespace Netdevd.Hosting;

/// <summary>
/// Where the default setup puts its sockets: <c>$XDG_RUNTIME_DIR/netdevd/</c>, else a private
/// directory under the temp dir (mode 0700, so other users cannot reach the sockets).
/// </summary>
internal static class RuntimeDirectory
{
    /// <param name="created">True when the directory is a fresh temp directory that should be removed at exit.</param>
    public static string Resolve(out bool created)
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        string dir;
        if (!string.IsNullOrEmpty(xdg) && Directory.Exists(xdg))
        {
            dir = Path.Combine(xdg, "netdevd");
            Directory.CreateDirectory(dir);
            created = false;
        }
        else
        {
            dir = Directory.CreateTempSubdirectory("netdevd-").FullName;
            created = true;
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return dir;
    }
}
