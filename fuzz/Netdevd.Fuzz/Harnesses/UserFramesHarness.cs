using Netdevd.Fuzz.Support;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// Whole Ethernet frames from the guest into the user stack (every protocol it serves). Action 6
/// (control bits 5-7): an ICMP error a UDP or echo flow's host socket heard (<see cref="StackDriver.HostError"/>).
/// </summary>
public static class UserFramesHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        using var driver = new StackDriver(restrict: input.Length > 0 && (input[0] & 0x80) != 0 && (input[0] & 0x60) == 0x60);
        driver.Run(input, static (d, control, record) =>
        {
            if (control >> 5 == 6)
            {
                d.HostError(record);
                return;
            }

            d.Frame(record, control);
        });
    }
}
