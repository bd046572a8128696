using System.Text;
using Netdevd.Personalities.Pasta;

namespace Netdevd.Daemon.Tests.Personalities;

/// <summary>
/// The /proc/net socket table parser behind pasta's auto forwarding: the kernel's lines for each
/// table, and (hostile input) truncated, garbled and oversized lines, which are skipped without
/// taking a wrong port.
/// </summary>
public sealed class ListeningSocketsTests
{
    private const string TcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    private static List<int> Scan(string table, int state, params int[] excluded)
    {
        var into = new PortSet();
        ListeningSockets.Scan(Encoding.ASCII.GetBytes(table), state, into, new PortSet(excluded));
        return into.ToList();
    }

    [Fact]
    public void The_kernels_tables_give_the_listening_ports_of_each_family()
    {
        var tcp = TcpHeader +
            "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0\n" +
            "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1235 1 0000000000000000 100 0 0 10 0\n" +
            // An established connection: not a listener.
            "   2: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 1236 1 0000000000000000 20 4 30 10 -1\n";
        Assert.Equal([22, 8080], Scan(tcp, ListeningSockets.TcpListen));

        var tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
            "   0: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0\n";
        Assert.Equal([631], Scan(tcp6, ListeningSockets.TcpListen));

        var udp = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
            " 4117: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 2001 2 0000000000000000 0\n" +
            // A connected UDP socket (state 01) is a flow, not a server.
            " 4200: 0F02000A:E1A4 0302000A:0035 01 00000000:00000000 00:00000000 00000000     0        0 2002 2 0000000000000000 0\n";
        Assert.Equal([53], Scan(udp, ListeningSockets.UdpBound));
        Assert.Empty(Scan(udp, ListeningSockets.TcpListen));
    }

    [Fact]
    public void Excluded_ports_are_left_out()
    {
        var tcp = TcpHeader +
            "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n" +
            "   1: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n";
        Assert.Equal([8081], Scan(tcp, ListeningSockets.TcpListen, 8080));
    }

    [Theory]
    // Truncated: the last line of a read cut short.
    [InlineData("   0: 00000000:1F90 00000000:0000")]
    [InlineData("   0: 00000000:1F90 00000000:0000 ")]
    [InlineData("   0: 00000000:1F")]
    [InlineData("   0: 0000000")]
    [InlineData("   0:")]
    // Fields of the wrong shape or length.
    [InlineData("   0: 00000000:01F90 00000000:0000 0A")]
    [InlineData("   0: 00000000:190 00000000:0000 0A")]
    [InlineData("   0: 0000000:1F90 00000000:0000 0A")]
    [InlineData("   0: 00000000:1F90 00000000:0000 00A")]
    [InlineData("   0: 00000000:1F90 00000000:0000 ZZ")]
    [InlineData("   0: 00000000:1G90 00000000:0000 0A")]
    [InlineData("   0: 00000000:-001 00000000:0000 0A")]
    [InlineData("   x: 00000000:1F90 00000000:0000 0A")]
    [InlineData("  -1: 00000000:1F90 00000000:0000 0A")]
    [InlineData("   0 00000000:1F90 00000000:0000 0A")]
    [InlineData("   0: 00000000:1F90 0A")]
    [InlineData("   0: 00000000:1F90\t00000000:0000\t0A")]
    // Port 0 is no port.
    [InlineData("   0: 00000000:0000 00000000:0000 0A")]
    [InlineData("")]
    [InlineData("\0\0\0\0")]
    [InlineData("   0: 00000000:1F90 00000000:0000 0A\0")]
    public void A_malformed_line_gives_no_port(string line) =>
        Assert.Empty(Scan(TcpHeader + line + "\n", ListeningSockets.TcpListen));

    [Fact]
    public void Oversized_and_binary_lines_are_skipped_and_the_lines_around_them_still_read()
    {
        var good = "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n";
        var table = new StringBuilder(TcpHeader).Append(good.Replace("1F90", "0050", StringComparison.Ordinal));
        table.Append("   1: ").Append('F', 1 << 20).Append(":1F91 00000000:0000 0A\n");
        table.Append("   2: 00000000:1F92 00000000:0000 0A ").Append('x', 1 << 20).Append('\n');
        table.Append(new string(' ', 1 << 20)).Append('\n');
        table.Append("   9999999999999: 00000000:1F93 00000000:0000 0A\n");
        table.Append(good);
        Assert.Equal([80, 8080, 8082], Scan(table.ToString(), ListeningSockets.TcpListen));

        // Every byte value, in random lines: nothing is taken that is not a listener's line.
        var random = new Random(1234);
        var noise = new byte[1 << 16];
        random.NextBytes(noise);
        var into = new PortSet();
        ListeningSockets.Scan(noise, ListeningSockets.TcpListen, into, new PortSet());
        Assert.Equal(0, into.Count);
    }

    [Fact]
    public void Sockets_of_our_own_are_left_out_by_inode_and_a_missing_inode_does_not_hide_a_line()
    {
        var table = TcpHeader +
            "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0\n" +
            "   1: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4243 1 0 100 0 0 10 0\n" +
            "   2: 00000000:1F92 00000000:0000 0A 00000000:00000000 00:00000000\n" +
            "   3: 00000000:1F93 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99999999999999999999999 1\n";
        var into = new PortSet();
        ListeningSockets.Scan(Encoding.ASCII.GetBytes(table), ListeningSockets.TcpListen, into, new PortSet(), new HashSet<ulong> { 4242, 0 });
        Assert.Equal([8081, 8082, 8083], into.ToList());
    }

    [Fact]
    public void A_table_without_a_final_newline_still_gives_its_last_line() =>
        Assert.Equal([8080], Scan(TcpHeader + "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000", ListeningSockets.TcpListen));
}
