using System.Globalization;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Harness;

/// <summary>
/// A running daemon out of descriptors: its soft RLIMIT_NOFILE lowered (prlimit) to its lowest
/// free descriptor, so its next accept fails with EMFILE and the client waits in the listener's
/// backlog, until <see cref="RestoreAsync"/> (or disposal) puts the limit back. Also reads the
/// daemon's CPU time, to tell a listener that waits from one that retries in a loop.
/// </summary>
internal sealed class DescriptorStarvation : IAsyncDisposable
{
    private readonly string _pid;
    private readonly string _limit;
    private bool _restored;

    private DescriptorStarvation(string pid, string limit)
    {
        _pid = pid;
        _limit = limit;
    }

    public static async Task<DescriptorStarvation> BeginAsync(int pid)
    {
        var text = pid.ToString(CultureInfo.InvariantCulture);
        var limit = (await HostCommand.CheckAsync("prlimit", "--pid", text, "--nofile", "--noheadings", "--raw", "--output", "SOFT")).Trim();

        // A descriptor the daemon is still closing (a session's teardown) would free one below
        // the limit and let the next accept succeed: wait until the lowest free one holds still.
        var lowest = LowestFreeDescriptor(pid);
        for (var i = 0; i < 25; i++)
        {
            await Task.Delay(200);
            var now = LowestFreeDescriptor(pid);
            if (now == lowest)
            {
                break;
            }

            lowest = now;
        }

        await HostCommand.CheckAsync("prlimit", "--pid", text, $"--nofile={lowest}:");
        return new DescriptorStarvation(text, limit);
    }

    /// <summary>The lowest descriptor number <paramref name="pid"/> does not have open.</summary>
    public static int LowestFreeDescriptor(int pid)
    {
        var open = Directory.GetFiles($"/proc/{pid}/fd").Select(f => int.Parse(Path.GetFileName(f), CultureInfo.InvariantCulture)).ToHashSet();
        var fd = 0;
        while (open.Contains(fd))
        {
            fd++;
        }

        return fd;
    }

    /// <summary>User and system CPU time of all of <paramref name="pid"/>'s threads so far (/proc/PID/stat utime + stime).</summary>
    public static TimeSpan CpuTime(int pid)
    {
        // The fields after the command name, which is in parentheses and may hold spaces.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
    }

    /// <summary>The CPU time <paramref name="pid"/> uses over <paramref name="window"/> of wall time.</summary>
    public static async Task<TimeSpan> CpuTimeOverAsync(int pid, TimeSpan window)
    {
        var before = CpuTime(pid);
        await Task.Delay(window);
        return CpuTime(pid) - before;
    }

    public async Task RestoreAsync()
    {
        if (!_restored && Directory.Exists($"/proc/{_pid}"))
        {
            await HostCommand.CheckAsync("prlimit", "--pid", _pid, $"--nofile={_limit}:");
        }

        _restored = true;
    }

    public async ValueTask DisposeAsync() => await RestoreAsync();
}
