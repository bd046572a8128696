using Netdevd.Backends.VirtioNet;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>
/// A frame a device vouched for (DATA_VALID) may come with its transport checksum empty: filled
/// from scratch it is what a correct sender would have sent (PacketDotNet-built frames as the
/// reference); frames it must not touch are left as they are.
/// </summary>
public sealed class ChecksumFillTests
{
    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(true, false)] // over IPv4 an empty UDP checksum means none (below)
    public void An_emptied_checksum_is_filled_as_the_sender_would_have(bool ipv6, bool tcp)
    {
        var expected = tcp ? OffloadFrames.Tcp(ipv6, OffloadFrames.Payload(333), 7, true) : OffloadFrames.Udp(ipv6, OffloadFrames.Payload(333));
        var frame = expected.ToArray();
        var field = OffloadFrames.L4Offset(ipv6) + (tcp ? 16 : 6);
        frame[field] = 0;
        frame[field + 1] = 0;
        Assert.NotEqual(expected, frame);

        Assert.True(ChecksumCompletion.FillTransport(frame));
        Assert.Equal(expected, frame);
    }

    [Fact]
    public void Behind_a_vlan_tag_the_checksum_is_filled_too()
    {
        var plain = OffloadFrames.Tcp(false, OffloadFrames.Payload(100), 1, false);
        byte[] expected = [.. plain[..12], 0x81, 0x00, 0x00, 0x05, .. plain[12..]];
        var frame = expected.ToArray();
        var field = 4 + OffloadFrames.L4Offset(false) + 16;
        frame[field] = 0;
        frame[field + 1] = 0;

        Assert.True(ChecksumCompletion.FillTransport(frame));
        Assert.Equal(expected, frame);
    }

    [Fact]
    public void Udp_over_ipv4_sent_without_a_checksum_stays_without_one()
    {
        var frame = OffloadFrames.Udp(false, OffloadFrames.Payload(50));
        var field = OffloadFrames.L4Offset(false) + 6;
        frame[field] = 0;
        frame[field + 1] = 0;
        var before = frame.ToArray();

        Assert.False(ChecksumCompletion.FillTransport(frame));
        Assert.Equal(before, frame);
    }

    [Theory]
    [InlineData("fragment")]
    [InlineData("icmp")]
    [InlineData("truncated")]
    [InlineData("arp")]
    public void Frames_it_cannot_or_must_not_fill_are_left_alone(string kind)
    {
        var frame = OffloadFrames.Tcp(false, OffloadFrames.Payload(64), 1, false);
        switch (kind)
        {
            case "fragment":
                frame[14 + 6] = 0x20; // more fragments: the checksum covers bytes not in this frame
                break;
            case "icmp":
                frame[14 + 9] = 1;
                break;
            case "truncated":
                frame = frame[..(OffloadFrames.L4Offset(false) + 10)];
                frame[14 + 2] = 0;
                frame[14 + 3] = 30; // IPv4 total length: the TCP header is cut
                break;
            default:
                frame[12] = 0x08;
                frame[13] = 0x06;
                break;
        }

        var before = frame.ToArray();
        Assert.False(ChecksumCompletion.FillTransport(frame));
        Assert.Equal(before, frame);
    }
}
