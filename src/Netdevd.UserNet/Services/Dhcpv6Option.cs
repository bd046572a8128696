using System.Buffers.Binary;

namespace Netdevd.UserNet.Services;

/// <summary>DHCPv6 option codes (RFC 8415 21, RFC 3646) the server reads or writes, and the option writer.</summary>
internal static class Dhcpv6Option
{
    public const ushort ClientId = 1;
    public const ushort ServerId = 2;
    public const ushort IaNa = 3;
    public const ushort IaTa = 4;
    public const ushort IaAddress = 5;
    public const ushort OptionRequest = 6;
    public const ushort StatusCode = 13;
    public const ushort DnsServers = 23;
    public const ushort DomainList = 24;
    public const ushort IaPd = 25;

    /// <summary>Writes code, length and body; returns the bytes written.</summary>
    public static int Write(Span<byte> buffer, ushort code, ReadOnlySpan<byte> body)
    {
        WriteHeader(buffer, code, body.Length);
        body.CopyTo(buffer[4..]);
        return 4 + body.Length;
    }

    /// <summary>Writes code and length, for a body the caller writes after it; returns 4.</summary>
    public static int WriteHeader(Span<byte> buffer, ushort code, int bodyLength)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer, code);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)bodyLength);
        return 4;
    }
}
