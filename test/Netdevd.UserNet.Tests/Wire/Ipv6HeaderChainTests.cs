using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

public sealed class Ipv6HeaderChainTests
{
    private const string Addresses = "fec00000000000000000000000000015 fec00000000000000000000000000002";

    private static byte[] Datagram(byte first, string extensions, string upper = "")
    {
        var body = Bytes.Hex(extensions + upper);
        var b = new byte[40 + body.Length];
        Ipv6Packet.WriteHeader(b, Ipv6Address.Read(Bytes.Hex(Addresses)), Ipv6Address.Read(Bytes.Hex(Addresses).AsSpan(16)), first, body.Length);
        body.CopyTo(b, 40);
        return b;
    }

    [Fact]
    public void No_extension_headers()
    {
        var c = Ipv6HeaderChain.Walk(Datagram(IpProtocol.Udp, string.Empty, "0035003500080000"));
        Assert.True(c.IsComplete);
        Assert.Equal(IpProtocol.Udp, c.Protocol);
        Assert.Equal(40, c.UpperOffset);
        Assert.Equal(6, c.NextHeaderFieldOffset);
        Assert.Equal(-1, c.FragmentHeaderOffset);
        Assert.Equal(0, c.HeaderCount);
    }

    [Fact]
    public void Hop_by_hop_router_alert_as_mld_sends_it_is_skipped()
    {
        // Linux's MLDv2 report: hop-by-hop with router alert (type 5, top bits 00) and PadN.
        var c = Ipv6HeaderChain.Walk(Datagram(Ipv6ExtensionHeader.HopByHop, "3a00 0502 0000 0100", "8f00000000000000"));
        Assert.Equal(Ipv6ChainStatus.Complete, c.Status);
        Assert.Equal(IpProtocol.Icmpv6, c.Protocol);
        Assert.Equal(48, c.UpperOffset);
        Assert.Equal(40, c.NextHeaderFieldOffset);
        Assert.Equal(1, c.HeaderCount);
    }

    [Fact]
    public void Destination_options_then_routing_with_no_segments_left_then_tcp()
    {
        var c = Ipv6HeaderChain.Walk(Datagram(Ipv6ExtensionHeader.DestinationOptions, "2b00 0104 00000000" + "0600 0000 00000000", "0000"));
        Assert.True(c.IsComplete);
        Assert.Equal(IpProtocol.Tcp, c.Protocol);
        Assert.Equal(56, c.UpperOffset);
        Assert.Equal(48, c.NextHeaderFieldOffset);
        Assert.Equal(2, c.HeaderCount);
    }

    [Fact]
    public void Routing_header_with_segments_left_is_a_parameter_problem_at_its_type()
    {
        var c = Ipv6HeaderChain.Walk(Datagram(Ipv6ExtensionHeader.Routing, "1102 0001 00000000 " + new string('0', 32)));
        Assert.Equal(Ipv6ChainStatus.UnsupportedRouting, c.Status);
        Assert.Equal(Ipv6ProblemReport.Always, c.Report);
        Assert.Equal(0, c.ProblemCode);
        Assert.Equal(42, c.ProblemPointer);
    }

    [Theory]
    [InlineData("43", Ipv6ProblemReport.None)]
    [InlineData("83", Ipv6ProblemReport.Always)]
    [InlineData("c3", Ipv6ProblemReport.UnlessMulticast)]
    public void Unknown_option_follows_its_action_bits(string type, Ipv6ProblemReport report)
    {
        var c = Ipv6HeaderChain.Walk(Datagram(Ipv6ExtensionHeader.DestinationOptions, "1100 0100 " + type + "02 0000", "0035003500080000"));
        Assert.Equal(Ipv6ChainStatus.UnknownOption, c.Status);
        Assert.Equal(report, c.Report);
        Assert.Equal(2, c.ProblemCode);
        Assert.Equal(44, c.ProblemPointer);
    }

    [Fact]
    public void Unknown_option_with_skip_bits_is_skipped()
    {
        var c = Ipv6HeaderChain.Walk(Datagram(Ipv6ExtensionHeader.DestinationOptions, "1100 0100 2302 0000", "0035003500080000"));
        Assert.True(c.IsComplete);
        Assert.Equal(IpProtocol.Udp, c.Protocol);
    }

    [Fact]
    public void Hop_by_hop_after_the_first_header_is_a_parameter_problem_code_1()
    {
        var c = Ipv6HeaderChain.Walk(Datagram(Ipv6ExtensionHeader.DestinationOptions, "0000 0104 00000000" + "1100 0104 00000000"));
        Assert.Equal(Ipv6ChainStatus.MisplacedHopByHop, c.Status);
        Assert.Equal(1, c.ProblemCode);
        Assert.Equal(40, c.ProblemPointer);
        Assert.Equal(Ipv6ProblemReport.Always, c.Report);
    }

    [Fact]
    public void Unknown_next_header_is_returned_as_the_upper_layer_with_the_field_to_point_at()
    {
        var c = Ipv6HeaderChain.Walk(Datagram(Ipv6ExtensionHeader.DestinationOptions, "fd00 0104 00000000", "00000000"));
        Assert.True(c.IsComplete);
        Assert.Equal(0xFD, c.Protocol);
        Assert.Equal(40, c.NextHeaderFieldOffset);
    }

    [Fact]
    public void Non_atomic_fragment_stops_the_walk_at_its_header()
    {
        var c = Ipv6HeaderChain.Walk(Datagram(Ipv6ExtensionHeader.Fragment, "1100 0001 00000001", "0035003500080000"));
        Assert.True(c.IsFragment);
        Assert.Equal(40, c.FragmentHeaderOffset);
        Assert.Equal(40, c.UpperOffset);
    }

    [Fact]
    public void Atomic_fragment_is_walked_through()
    {
        var c = Ipv6HeaderChain.Walk(Datagram(Ipv6ExtensionHeader.Fragment, "1100 0000 00000001", "0035003500080000"));
        Assert.False(c.IsFragment);
        Assert.True(c.IsComplete);
        Assert.Equal(IpProtocol.Udp, c.Protocol);
        Assert.Equal(48, c.UpperOffset);
        Assert.Equal(40, c.FragmentHeaderOffset);
    }

    [Theory]
    [InlineData(Ipv6ExtensionHeader.HopByHop, "3a00 0502")] // header shorter than 8
    [InlineData(Ipv6ExtensionHeader.HopByHop, "3a01 0502 0000 0100")] // length says 16, 8 present
    [InlineData(Ipv6ExtensionHeader.DestinationOptions, "3a00 01ff 0000 0000")] // PadN runs past the header
    [InlineData(Ipv6ExtensionHeader.DestinationOptions, "3a00 0000 0000 0001")] // option type with no length byte
    [InlineData(Ipv6ExtensionHeader.Fragment, "1100 0001")]
    public void Truncated_chains_are_reported_not_thrown(byte first, string extensions)
    {
        var c = Ipv6HeaderChain.Walk(Datagram(first, extensions));
        Assert.Equal(Ipv6ChainStatus.Truncated, c.Status);
    }

    [Fact]
    public void A_long_chain_stops_at_the_header_limit()
    {
        var one = "3c00 0104 00000000";
        var c = Ipv6HeaderChain.Walk(Datagram(Ipv6ExtensionHeader.DestinationOptions, string.Concat(Enumerable.Repeat(one, 200))));
        Assert.Equal(Ipv6ChainStatus.TooManyHeaders, c.Status);
        Assert.Equal(Ipv6HeaderChain.MaximumHeaders, c.HeaderCount);
    }

    [Fact]
    public void Every_truncation_of_a_valid_chain_is_handled()
    {
        var whole = Datagram(Ipv6ExtensionHeader.HopByHop, "3c00 0502 0000 0100" + "2b00 0104 00000000" + "0600 0000 00000000", "0000000000000000");
        for (var len = 0; len <= whole.Length; len++)
        {
            var c = Ipv6HeaderChain.Walk(whole.AsSpan(0, len));
            Assert.True(len >= 64 ? c.IsComplete : c.Status == Ipv6ChainStatus.Truncated, $"length {len}: {c.Status}");
        }
    }
}
