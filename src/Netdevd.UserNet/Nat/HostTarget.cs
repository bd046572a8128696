using System.Net;

namespace Netdevd.UserNet.Nat;

/// <summary>What the host side connects a new guest TCP connection to.</summary>
public abstract record HostTarget
{
    private HostTarget()
    {
    }

    /// <summary>A TCP endpoint on the host (the NAT case; 10.0.2.2 becomes loopback).</summary>
    public sealed record Tcp(IPEndPoint EndPoint) : HostTarget;

    /// <summary>A unix stream socket (guestfwd <c>-unix:PATH</c>).</summary>
    public sealed record Unix(string Path) : HostTarget;

    /// <summary>A command run per connection with the stream as stdin/stdout (guestfwd <c>-cmd:COMMAND</c>).</summary>
    public sealed record Command(string CommandLine) : HostTarget;
}
