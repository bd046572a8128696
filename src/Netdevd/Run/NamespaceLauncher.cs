using System.Diagnostics;
using System.Globalization;

namespace Netdevd.Run;

/// <summary>
/// Builds the command that puts netdevd's inside half into the namespace: util-linux's
/// <c>unshare</c> for a new one (with a user namespace mapping us to root when we are not root),
/// or <c>nsenter</c> to join one. Neither forks here, so the process started is, after two
/// execs, the user's command itself.
/// </summary>
internal static class NamespaceLauncher
{
    public static ProcessStartInfo Create(RunOptions options, IReadOnlyList<string> inner)
    {
        var root = Environment.IsPrivilegedProcess;
        ProcessStartInfo start;
        if (options.NetnsPath is { } path)
        {
            start = new ProcessStartInfo("nsenter") { ArgumentList = { "--net=" + path } };
        }
        else if (options.Pid is { } pid)
        {
            start = new ProcessStartInfo("nsenter") { ArgumentList = { "--target", pid.ToString(CultureInfo.InvariantCulture), "--net" } };
            if (!root)
            {
                // The target's user namespace gives us the right to configure its network.
                start.ArgumentList.Add("--user");
                start.ArgumentList.Add("--preserve-credentials");
            }
        }
        else
        {
            start = new ProcessStartInfo("unshare") { ArgumentList = { "--net" } };
            if (!root)
            {
                start.ArgumentList.Add("--user");
                start.ArgumentList.Add("--map-root-user");
            }
        }

        start.UseShellExecute = false;
        start.ArgumentList.Add("--");
        foreach (var a in inner)
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }

    /// <summary>
    /// nsenter into an existing network namespace, first joining <paramref name="usernsPath"/>
    /// (the namespace's owner) when given: what a non-root slirp4netns does to configure a
    /// rootless container's network.
    /// </summary>
    public static ProcessStartInfo Join(string netnsPath, string? usernsPath, IReadOnlyList<string> inner)
    {
        var start = new ProcessStartInfo("nsenter") { UseShellExecute = false };
        if (usernsPath is not null)
        {
            start.ArgumentList.Add("--user=" + usernsPath);
            start.ArgumentList.Add("--preserve-credentials");
        }

        start.ArgumentList.Add("--net=" + netnsPath);
        start.ArgumentList.Add("--");
        foreach (var a in inner)
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }
}
