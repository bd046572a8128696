namespace Netdevd.Interop.Tests.Harness;

/// <summary>Test frames: Ethernet-shaped (broadcast destination, locally administered source) with a recognisable payload.</summary>
internal static class Frames
{
    public static byte[] Make(int length, int seq)
    {
        var f = new byte[length];
        for (var i = 0; i < 6; i++)
        {
            f[i] = 0xff;
        }

        f[6] = 0x52;
        f[7] = 0x54;
        f[8] = (byte)(seq >> 24);
        f[9] = (byte)(seq >> 16);
        f[10] = (byte)(seq >> 8);
        f[11] = (byte)seq;
        if (length > 13)
        {
            f[12] = 0x88;
            f[13] = 0xb5; // local experimental ethertype
        }

        for (var i = 14; i < length; i++)
        {
            f[i] = (byte)(i * 7 + seq);
        }

        return f;
    }

    /// <summary>The sequence number <see cref="Make"/> stored in the source MAC.</summary>
    public static int Sequence(byte[] frame) => (frame[8] << 24) | (frame[9] << 16) | (frame[10] << 8) | frame[11];
}
