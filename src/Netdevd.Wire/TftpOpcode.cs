namespace Netdevd.Wire;

/// <summary>TFTP opcodes (RFC 1350; OACK from RFC 2347).</summary>
public enum TftpOpcode : ushort
{
    None = 0,
    ReadRequest = 1,
    WriteRequest = 2,
    Data = 3,
    Ack = 4,
    Error = 5,
    OptionAck = 6,
}
