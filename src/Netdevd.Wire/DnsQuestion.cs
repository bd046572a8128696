namespace Netdevd.Wire;

/// <summary>A question entry: where its name starts in the message, its QTYPE and QCLASS.</summary>
public readonly record struct DnsQuestion(int NameOffset, ushort Type, ushort Class);
