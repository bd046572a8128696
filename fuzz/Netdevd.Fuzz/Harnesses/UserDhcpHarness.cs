using Netdevd.Fuzz.Support;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// BOOTP/DHCP messages into the user stack's DHCP server, as a client sends them: from
/// 0.0.0.0:68 to the broadcast address (action 0) or from its leased address to the server (action 1).
/// </summary>
public static class UserDhcpHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        using var driver = new StackDriver();
        driver.Run(input, static (d, control, record) =>
        {
            if ((control & 0x20) == 0)
            {
                d.Udp(Frames.Any, 68, Frames.AllOnes, 67, record, control);
            }
            else
            {
                d.Udp(Frames.Guest, 68, Frames.Gateway, 67, record, control);
            }
        });
    }
}
