using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>CAP_NET_BIND_SERVICE: binding ports below 1024.</summary>
    public const int CAP_NET_BIND_SERVICE = 10;

    private const uint LinuxCapabilityVersion3 = 0x20080522;

    /// <summary>
    /// capset(2) of the calling thread (capabilities are per thread): effective, permitted and
    /// inheritable all become the capabilities 0..63 set in <paramref name="mask"/>.
    /// </summary>
    public static unsafe int SetOwnCapabilities(ulong mask)
    {
        var header = new CapHeader { Version = LinuxCapabilityVersion3 };
        var data = stackalloc CapData[2];
        for (var i = 0; i < 2; i++)
        {
            var word = (uint)(mask >> (32 * i));
            data[i] = new CapData { Effective = word, Permitted = word, Inheritable = word };
        }

        return capset(&header, data);
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int capset(CapHeader* header, CapData* data);

    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }
}
