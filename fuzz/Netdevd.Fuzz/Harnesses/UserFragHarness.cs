using Netdevd.Fuzz.Support;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// IPv4 datagrams (header and all, the fuzzer's own fragment fields and IHL) in Ethernet frames:
/// fragment reassembly and what the reassembled datagram meets next. Checksums are repaired
/// unless the control says not to (a fragment's transport checksum is never touched).
/// </summary>
public static class UserFragHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        using var driver = new StackDriver();
        var frame = new byte[Frames.EthernetHeader + 65535];
        driver.Run(input, (d, control, record) =>
        {
            var n = Frames.Ethernet(frame, Frames.GatewayMac, Frames.EtherTypeIpv4, record);
            d.Frame(frame.AsSpan(0, n), control);
        });
    }
}
