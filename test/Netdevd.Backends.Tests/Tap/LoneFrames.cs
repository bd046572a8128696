using Netdevd.Native;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>
/// Frames for a tap whose descriptor is one end of a datagram socket pair (one read, one frame):
/// 60 bytes marked by their first byte, and the guest end's reader.
/// </summary>
internal static class LoneFrames
{
    public static byte[] Frame(byte marker)
    {
        var frame = new byte[60];
        frame[0] = marker;
        return frame;
    }

    /// <summary>The first bytes of the next <paramref name="count"/> frames the guest end receives (fewer after ~10 s).</summary>
    public static async Task<List<byte>> ReadFirstBytesAsync(int guest, int count)
    {
        var firstBytes = new List<byte>();
        var buffer = new byte[2048];
        for (var waited = 0; firstBytes.Count < count && waited < 1000; waited++)
        {
            var n = Libc.Read(guest, buffer);
            if (n > 0)
            {
                firstBytes.Add(buffer[0]);
            }
            else
            {
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }
        }

        return firstBytes;
    }
}
