using System.Buffers.Binary;
using System.Text;
using Netdevd.Native;

namespace Netdevd.Backends.Vde;

/// <summary>
/// libvdeplug's control request to a vde_switch (<c>struct request_v3</c>, packed, host byte
/// order): magic 0xfeedface, version 3, type (REQ_NEW_CONTROL = 0, with the wanted port in the
/// bits above 8), the client's data socket address (a full sockaddr_un), then the description
/// text without its terminating NUL. The switch answers with the sockaddr_un of its own data
/// socket for the new port.
/// </summary>
internal static class VdeRequest
{
    public const uint Magic = 0xfeedface;
    public const uint Version = 3;

    /// <summary>sizeof(struct sockaddr_un) on Linux.</summary>
    public const int SockAddrUnSize = 2 + SockAddr.UnixPathCapacity;

    /// <summary>magic + version + type + sockaddr_un.</summary>
    public const int FixedSize = 12 + SockAddrUnSize;

    /// <summary>MAXDESCR: the description field's capacity, its NUL included.</summary>
    public const int MaxDescription = 128;

    public static byte[] Build(int port, string dataSocketPath, string description)
    {
        ArgumentNullException.ThrowIfNull(dataSocketPath);
        ArgumentNullException.ThrowIfNull(description);
        var text = Encoding.UTF8.GetBytes(description);

        // strncpy into 128 bytes then strlen: at most 127 bytes of text reach the switch.
        var textLength = Math.Min(text.Length, MaxDescription - 1);
        var request = new byte[FixedSize + textLength];
        BinaryPrimitives.WriteUInt32LittleEndian(request, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(4), Version);
        BinaryPrimitives.WriteInt32LittleEndian(request.AsSpan(8), port << 8);
        SockAddr.Unix(dataSocketPath).Bytes.CopyTo(request.AsSpan(12));
        text.AsSpan(0, textLength).CopyTo(request.AsSpan(FixedSize));
        return request;
    }
}
