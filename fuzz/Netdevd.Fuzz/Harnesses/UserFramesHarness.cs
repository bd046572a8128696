using Netdevd.Fuzz.Support;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>Whole Ethernet frames from the guest into the user stack (every protocol it serves).</summary>
public static class UserFramesHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        using var driver = new StackDriver(restrict: input.Length > 0 && (input[0] & 0x80) != 0 && (input[0] & 0x60) == 0x60);
        driver.Run(input, static (d, control, record) => d.Frame(record, control));
    }
}
