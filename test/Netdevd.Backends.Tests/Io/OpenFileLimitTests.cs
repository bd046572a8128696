using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// The daemon raises its soft descriptor limit to the hard one at start (Program.cs): a NativeAOT
/// binary keeps the soft limit it was started with, often 1024, fewer than the flows it admits.
/// </summary>
public sealed class OpenFileLimitTests
{
    [Fact]
    public void A_soft_limit_below_the_hard_one_is_raised_to_it()
    {
        var start = Libc.OpenFileLimit();
        var hard = File.ReadLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];
        var open = Directory.GetFiles("/proc/self/fd").Length;
        Assert.True(long.TryParse(hard, out var hardLimit), hard);
        Assert.SkipWhen(hardLimit < open + 128, $"the hard limit ({hardLimit}) leaves no room to lower the soft one below it");
        try
        {
            // The test process lowered (as a login session's 1024 is), keeping room for what it has open.
            Assert.Equal(0, Libc.SetOpenFileLimit(open + 64));
            Assert.Equal(open + 64, Libc.OpenFileLimit());

            Assert.Equal(hardLimit, Libc.RaiseOpenFileLimit());
            Assert.Equal(hardLimit, Libc.OpenFileLimit());
        }
        finally
        {
            _ = Libc.SetOpenFileLimit(start);
        }
    }
}
