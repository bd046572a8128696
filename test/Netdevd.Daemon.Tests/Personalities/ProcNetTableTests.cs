using Netdevd.Personalities.Pasta;

namespace Netdevd.Daemon.Tests.Personalities;

/// <summary>
/// A socket table kept open and re-read from its start, as auto forwarding reads /proc/net: the
/// kernel's own table, a table larger than one read, one larger than the bound (cut there), and
/// a table that changed between two reads.
/// </summary>
public sealed class ProcNetTableTests
{
    [Fact]
    public void The_kernels_table_is_read_whole_with_its_header_each_time()
    {
        using var table = ProcNetTable.Open("/proc/self/net/tcp");
        Assert.NotNull(table);
        var first = table.Read().ToArray();
        Assert.StartsWith("  sl  local_address", System.Text.Encoding.ASCII.GetString(first), StringComparison.Ordinal);
        Assert.StartsWith("  sl  local_address", System.Text.Encoding.ASCII.GetString(table.Read()), StringComparison.Ordinal);
    }

    [Fact]
    public void A_table_is_read_from_its_start_every_time_up_to_the_bound()
    {
        var path = Path.GetTempFileName();
        try
        {
            // Larger than the first buffer: read whole.
            var big = new byte[300_000];
            new Random(7).NextBytes(big);
            File.WriteAllBytes(path, big);
            using (var table = ProcNetTable.Open(path)!)
            {
                Assert.True(table.Read().SequenceEqual(big));

                // Changed in place, shorter: the next read shows only the new content.
                File.WriteAllText(path, "changed\n");
                Assert.Equal("changed\n", System.Text.Encoding.ASCII.GetString(table.Read()));
            }

            // Larger than the bound: cut there, so a hostile or huge table cannot take unbounded memory.
            using (var stream = File.OpenWrite(path))
            {
                stream.SetLength(ProcNetTable.MaxBytes + 4096);
            }

            using (var table = ProcNetTable.Open(path)!)
            {
                Assert.Equal(ProcNetTable.MaxBytes, table.Read().Length);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_table_that_is_not_there_is_none() => Assert.Null(ProcNetTable.Open("/proc/self/net/no-such-table"));
}
