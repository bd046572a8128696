using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>A hostile guest (a real Linux namespace with raw sockets) against the user netdev.</summary>
[Collection("user-netdev")]
public sealed class UserNetHardeningInteropTests
{
    /// <summary>
    /// First pieces of 200 datagrams that never complete, sent through a raw socket (the kernel
    /// fills in the header checksum and lengths), each frame 1514 bytes.
    /// </summary>
    private const string FragmentFlood = """
        import socket, struct
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        src, dst = socket.inet_aton("10.0.2.15"), socket.inet_aton("10.0.2.2")
        for i in range(200):
            header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1500, 30000 + i, 0x2000, 64, 17, 0, src, dst)
            s.sendto(header + bytes(1480), ("10.0.2.2", 0))
        print("sent")
        """;

    [Fact]
    public async Task A_fragmented_ping_of_the_gateway_is_answered_right_after_a_flood_of_incomplete_fragments()
    {
        UserNetRig.RequireTools();
        HostTools.Require("python3", "python3");
        await using var rig = await UserNetRig.StartAsync("");
        await rig.DhcpAsync();
        var script = Path.Combine(rig.Dir, "flood.py");
        await File.WriteAllTextAsync(script, FragmentFlood.Replace("\r", "", StringComparison.Ordinal));

        var flood = await rig.GuestAsync($"python3 {script}");
        Assert.True(flood.Status == 0, flood.Output);

        // 3028 bytes of ICMP: three fragments each way; before eviction, refused for 30 s.
        var ping = await rig.GuestAsync("ping -c 1 -W 3 -s 3000 10.0.2.2", TimeSpan.FromSeconds(20));
        Assert.True(ping.Status == 0, ping.Output);
    }
}
