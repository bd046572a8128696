using Netdevd.Fuzz.Support;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>TFTP datagrams from the guest to 10.0.2.2:69, from one of four client ports (action bits), with time passing between them.</summary>
public static class UserTftpHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        using var driver = new StackDriver();
        driver.Run(input, static (d, control, record) =>
            d.Udp(Frames.Guest, (ushort)(1024 + (control >> 5 & 0x03)), Frames.Gateway, 69, record, control));
    }
}
