using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int IPPROTO_IP = 0;
    public const int IP_TTL = 2;
    public const int IPV6_UNICAST_HOPS = 16;
    public const int IP_MULTICAST_IF = 32;
    public const int IP_MULTICAST_TTL = 33;
    public const int IP_MULTICAST_LOOP = 34;
    public const int IP_ADD_MEMBERSHIP = 35;

    /// <summary>
    /// inet_aton(3), the C library's own, so that every form QEMU accepts is accepted here too
    /// ("127.1", "0x7f.0.0.1", octal parts, one 32-bit number, text after a space ignored).
    /// The address comes back as its four bytes in network order.
    /// </summary>
    public static unsafe bool InetAton(string text, out uint networkOrderAddress)
    {
        ArgumentNullException.ThrowIfNull(text);
        uint address = 0;
        var ok = SysInetAton(text, &address) != 0;
        networkOrderAddress = address;
        return ok;
    }

    [LibraryImport(Library, EntryPoint = "inet_aton", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int SysInetAton(string cp, uint* inp);
}
