using Netdevd.Wire;

namespace Netdevd.UserNet.Services.Tftp;

/// <summary>The guest side of a TFTP session (replies go there from the server's port 69).</summary>
public readonly record struct TftpClientEndpoint(Ipv4Address Address, ushort Port);
