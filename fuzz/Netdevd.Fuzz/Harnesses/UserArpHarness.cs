using Netdevd.Fuzz.Support;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>ARP bodies (what follows the Ethernet header) into the user stack's ARP responder, broadcast or unicast.</summary>
public static class UserArpHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        using var driver = new StackDriver();
        var frame = new byte[Frames.EthernetHeader + 65535];
        driver.Run(input, (d, control, record) =>
        {
            var n = Frames.Ethernet(frame, (control & 0x20) != 0 ? Frames.GatewayMac : Frames.Broadcast, Frames.EtherTypeArp, record);
            d.Frame(frame.AsSpan(0, n), control);
        });
    }
}
