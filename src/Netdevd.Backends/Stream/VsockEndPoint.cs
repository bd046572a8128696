using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Netdevd.Backends.Stream;

/// <summary>struct sockaddr_vm as an <see cref="EndPoint"/>; .NET has no vsock endpoint of its own.</summary>
internal sealed class VsockEndPoint(uint cid, uint port) : EndPoint
{
    /// <summary>Linux's AF_VSOCK.</summary>
    public const AddressFamily Family = (AddressFamily)40;

    private const int Size = 16;

    public uint Cid { get; } = cid;

    public uint Port { get; } = port;

    public override AddressFamily AddressFamily => Family;

    public override SocketAddress Serialize()
    {
        var sa = new SocketAddress(Family, Size);
        Span<byte> raw = stackalloc byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(raw[4..], Port);
        BinaryPrimitives.WriteUInt32LittleEndian(raw[8..], Cid);
        for (var i = 2; i < Size; i++)
        {
            sa[i] = raw[i];
        }

        return sa;
    }

    public override EndPoint Create(SocketAddress socketAddress)
    {
        ArgumentNullException.ThrowIfNull(socketAddress);
        Span<byte> raw = stackalloc byte[Size];
        for (var i = 0; i < Size && i < socketAddress.Size; i++)
        {
            raw[i] = socketAddress[i];
        }

        return new VsockEndPoint(BinaryPrimitives.ReadUInt32LittleEndian(raw[8..]), BinaryPrimitives.ReadUInt32LittleEndian(raw[4..]));
    }

    public override string ToString() => $"{Cid}:{Port}";
}
