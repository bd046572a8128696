using System.Globalization;
using Netdevd.Native;

namespace Netdevd.Daemon.Tests;

/// <summary>
/// Numeric <c>fd=</c>: a descriptor the daemon inherited is taken; one of the daemon's own (the
/// runtime's pipes and eventfds) is refused and left alone, so the daemon still deletes netdevs
/// and still stops on SIGTERM.
/// </summary>
public sealed class DescriptorNumberTests
{
    private const string NotPassed = "was not passed to netdevd: leave it open (not close-on-exec) when starting netdevd, or pass it with getfd";

    [Fact]
    public async Task An_inherited_socket_is_taken_by_number()
    {
        // One end for the daemon, inheritable; ours close-on-exec so only the daemon holds theirs.
        Assert.True(Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM, 0, out var ours, out var theirs));
        Assert.Equal(0, Libc.SetCloseOnExec(ours, true));
        HostileQmpInputTests.Rig rig;
        try
        {
            var n = theirs.ToString(CultureInfo.InvariantCulture);
            rig = await HostileQmpInputTests.Rig.StartAsync("-netdev", $"stream,id=s0,addr.type=fd,addr.str={n}");
        }
        finally
        {
            _ = Libc.Close(theirs);
        }

        await using (rig)
        {
            try
            {
                var s0 = await rig.SettledAsync("s0");
                Assert.True((bool?)s0["link-up"], s0.ToJsonString());
                Assert.DoesNotContain("error", (string?)s0["info"] ?? "", StringComparison.Ordinal);
            }
            finally
            {
                _ = Libc.Close(ours);
            }

            await rig.AssertStillServesAsync();
        }
    }

    [Theory]
    [InlineData("tap", "\"fd\":\"{0}\"")]
    [InlineData("socket", "\"fd\":\"{0}\"")]
    [InlineData("stream", "\"addr\":{{\"type\":\"fd\",\"str\":\"{0}\"}}")]
    [InlineData("dgram", "\"local\":{{\"type\":\"fd\",\"str\":\"{0}\"}}")]
    public async Task One_of_the_daemons_own_descriptors_is_refused_and_left_open(string type, string fdArgument)
    {
        await using var rig = await HostileQmpInputTests.Rig.StartAsync();
        var (fd, target) = PickOwnDescriptor(rig.Daemon.Pid);

        var arguments = string.Format(CultureInfo.InvariantCulture, fdArgument, fd);
        var r = await rig.Qmp.ExecuteAsync($$$"""{"execute":"netdev_add","arguments":{"type":"{{{type}}}","id":"x0",{{{arguments}}}}}""");
        Assert.Equal($"File descriptor '{fd}' {NotPassed}", (string?)r["error"]?["desc"]);

        // Left exactly as it was: not closed, not adopted.
        Assert.Equal(target, new FileInfo($"/proc/{rig.Daemon.Pid}/fd/{fd}").LinkTarget);
        await rig.AssertStillServesAsync();
        Assert.Equal(0, await rig.Daemon.TerminateAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Standard_streams_are_refused()
    {
        await using var rig = await HostileQmpInputTests.Rig.StartAsync();
        var r = await rig.Qmp.ExecuteAsync("""{"execute":"netdev_add","arguments":{"type":"socket","id":"x0","fd":"1"}}""");
        Assert.Equal("File descriptor '1' is netdevd's standard output, not a descriptor for a netdev", (string?)r["error"]?["desc"]);
        await rig.AssertStillServesAsync();
    }

    /// <summary>An eventfd of the runtime if there is one (what a stray stream fd= once adopted), else its first pipe.</summary>
    private static (int Fd, string Target) PickOwnDescriptor(int pid)
    {
        var own = new List<(int Fd, string Target)>();
        foreach (var entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            var fd = int.Parse(Path.GetFileName(entry), CultureInfo.InvariantCulture);
            if (fd > 2 && new FileInfo(entry).LinkTarget is { } target)
            {
                own.Add((fd, target));
            }
        }

        own.Sort();
        foreach (var d in own)
        {
            if (d.Target.Contains("eventfd", StringComparison.Ordinal))
            {
                return d;
            }
        }

        return own.First(d => d.Target.StartsWith("pipe:", StringComparison.Ordinal));
    }
}
