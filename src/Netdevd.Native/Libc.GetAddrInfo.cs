using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int SOCK_RAW = 3;

    /// <summary>
    /// getaddrinfo(3) with a family/socktype/protocol hint, as QEMU's l2tpv3 calls it: the C
    /// library's own resolver, so host names, "127.1"-style literals and service names behave
    /// exactly as in QEMU. Returns 0 and the first result's address, or the EAI_* code (see
    /// <see cref="GaiStrError"/>) and null.
    /// </summary>
    public static unsafe int GetAddrInfo(string node, string? service, int family, int socketType, int protocol, out SockAddr? first)
    {
        ArgumentNullException.ThrowIfNull(node);
        first = null;
        var hints = new AddrInfo { Family = family, SocketType = socketType, Protocol = protocol };
        AddrInfo* result = null;
        var rc = getaddrinfo(node, service, &hints, &result);
        if (rc != 0)
        {
            return rc;
        }

        try
        {
            if (result is null || result->Address is null)
            {
                // QEMU treats "no result" like a failure; EAI_NONAME is what glibc would say.
                return EAI_NONAME;
            }

            first = SockAddr.FromBytes(new ReadOnlySpan<byte>(result->Address, (int)result->AddressLength));
            return 0;
        }
        finally
        {
            if (result is not null)
            {
                freeaddrinfo(result);
            }
        }
    }

    /// <summary>EAI_NONAME: "Name or service not known".</summary>
    public const int EAI_NONAME = -2;

    /// <summary>gai_strerror(3): the resolver's text for an EAI_* code.</summary>
    public static string GaiStrError(int code) => Marshal.PtrToStringUTF8(gai_strerror(code)) ?? $"Unknown error {code}";

    /// <summary>struct addrinfo (LP64 layout).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct AddrInfo
    {
        public int Flags;
        public int Family;
        public int SocketType;
        public int Protocol;
        public uint AddressLength;
        public byte* Address;
        public byte* CanonicalName;
        public AddrInfo* Next;
    }

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int getaddrinfo(string node, string? service, AddrInfo* hints, AddrInfo** res);

    [LibraryImport(Library)]
    private static unsafe partial void freeaddrinfo(AddrInfo* res);

    [LibraryImport(Library)]
    private static partial nint gai_strerror(int errcode);
}
