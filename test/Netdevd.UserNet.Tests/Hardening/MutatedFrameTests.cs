using Microsoft.Extensions.Time.Testing;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Services;
using Netdevd.UserNet.Services.Tftp;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.UserNet.Tests.Services;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Hardening;

/// <summary>
/// Valid guest frames of every kind the stack answers, with random bytes flipped, truncated or
/// extended: the stack never throws (its callers contain nothing for it), whatever it makes of them.
/// Seeded, so a failure replays (NETDEVD_MUTATION_SEED and NETDEVD_MUTATION_ITERATIONS run others).
/// </summary>
public sealed class MutatedFrameTests
{
    private static readonly int Iterations = int.TryParse(Environment.GetEnvironmentVariable("NETDEVD_MUTATION_ITERATIONS"), out var n) ? n : 60_000;

    private static List<byte[]> Seeds()
    {
        var host = GuestFrames.Host;
        var dns = Ipv4Address.Create(10, 0, 2, 3);
        var seeds = new List<byte[]>
        {
            GuestFrames.ArpRequest(host),
            GuestFrames.Ping(host, 1, 1, 56),
            GuestFrames.Tcp(host, 40000, 80, 100, 0, Netdevd.Wire.TcpFlags.Syn, options: new TcpOptions { MaximumSegmentSize = 1460, WindowScale = 7 }),
            GuestFrames.Tcp(host, 40000, 80, 101, 1, Netdevd.Wire.TcpFlags.Ack | Netdevd.Wire.TcpFlags.Psh, new byte[100]),
            GuestFrames.Udp(Ipv4Address.Broadcast, 68, 67, DhcpTestClient.Request(DhcpMessageType.Discover, GuestFrames.GuestMac)),
            GuestFrames.Udp(host, 40069, 69, [0, 1, .. "boot.bin\0octet\0blksize\01400\0tsize\00\0"u8.ToArray()]),
            GuestFrames.Udp(dns, 40053, 53, [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, .. "example"u8.ToArray(), 3, .. "com"u8.ToArray(), 0, 0, 1, 0, 1]),
            GuestFrames.Udp(Ipv4Address.Create(192, 0, 2, 1), 40000, 9, new byte[64]),
        };
        seeds.AddRange(GuestFrames.Fragment(GuestFrames.Ping(host, 2, 1, 3000), 1480, 7));
        return seeds;
    }

    [Fact]
    public void Mutated_frames_never_make_the_stack_throw()
    {
        var time = new FakeTimeProvider();
        var sink = new ListSink();
        var host = new FakeNatHost();
        var dhcp = new DhcpServer(new UserNetConfig(), time);
        using var tftp = new TftpServer(new MemoryTftpFileSource { ["boot.bin"] = new byte[5000] }, time);
        using var stack = new UserStack(new UserStackOptions(), sink, time, dhcp, tftp);
        stack.AttachHost(host);
        var random = new Random(int.TryParse(Environment.GetEnvironmentVariable("NETDEVD_MUTATION_SEED"), out var seed) ? seed : 20261201);
        var seeds = Seeds();
        for (var i = 0; i < Iterations; i++)
        {
            var frame = Mutate(seeds[random.Next(seeds.Count)], random);
            stack.Input(frame);
            if (i % 500 == 0)
            {
                time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 40_000)));
                stack.Poll();
                sink.Take();
            }
        }

        // The mutations reach the layers above IPv4: flows opened and frames answered.
        Assert.Equal(Iterations, stack.Counters.FramesIn);
        Assert.True(stack.Counters.TcpFlowsOpened > 0);
        Assert.True(stack.Counters.FramesOut > 1000, stack.Counters.FramesOut.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotEmpty(host.UdpSent);
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var frame = (byte[])seed.Clone();
        switch (random.Next(4))
        {
            case 0:
                frame = frame[..random.Next(0, frame.Length + 1)];
                break;
            case 1:
                Array.Resize(ref frame, frame.Length + random.Next(1, 64));
                break;
        }

        var flips = random.Next(1, 6);
        for (var f = 0; f < flips && frame.Length > 0; f++)
        {
            // Mostly headers (where the lengths and offsets are), sometimes anywhere.
            var at = random.Next(2) == 0 ? random.Next(Math.Min(frame.Length, 60)) : random.Next(frame.Length);
            frame[at] = (byte)random.Next(256);
        }

        // Keep the IPv4 header checksum valid often, so mutations get past it to the layers above.
        if (frame.Length >= 34 && random.Next(3) > 0 && Ipv4Packet.TryCreate(frame.AsSpan(14), out var ip))
        {
            ip.FillChecksum();
            var l4 = ip.Payload;
            switch (ip.Protocol)
            {
                case IpProtocol.Tcp when !ip.IsFragment && TcpPacket.TryCreate(l4, out var tcp):
                    tcp.FillChecksum(ip.Source, ip.Destination);
                    break;
                case IpProtocol.Udp when !ip.IsFragment && UdpPacket.TryCreate(l4, out var udp):
                    udp.FillChecksum(ip.Source, ip.Destination);
                    break;
                case IpProtocol.Icmp when !ip.IsFragment && IcmpPacket.TryCreate(l4, out var icmp):
                    icmp.FillChecksum();
                    break;
            }
        }

        return frame;
    }
}
