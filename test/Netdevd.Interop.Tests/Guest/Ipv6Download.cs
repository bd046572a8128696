namespace Netdevd.Interop.Tests.Guest;

/// <summary>Where the guest fetches the payload over IPv6: the virtual host address (a literal) and the host port.</summary>
internal readonly record struct Ipv6Download(string HostAddress, int Port);
