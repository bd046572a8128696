using System.Net;

namespace Netdevd.UserNet.Nat;

/// <summary>What the host side connects a new guest TCP connection to.</summary>
public abstract record HostTarget
{
    private HostTarget()
    {
    }

    /// <summary>
    /// A TCP endpoint on the host (the NAT case; 10.0.2.2 becomes loopback). <paramref name="Then"/>:
    /// endpoints tried in turn when the connect to the one before fails (the DNS proxy's other
    /// nameservers, for a guest's DNS over TCP); none by default.
    /// </summary>
    public sealed record Tcp(IPEndPoint EndPoint, IReadOnlyList<IPEndPoint>? Then = null) : HostTarget;

    /// <summary>
    /// guestfwd's chardev (<c>-tcp:HOST:PORT</c>, <c>-unix:PATH</c>): one connection opened when
    /// the netdev is created and shared by the guest's connections, as QEMU's chardev is.
    /// <paramref name="Name"/> is QEMU's chardev name (<c>guestfwd.tcp.PORT</c>),
    /// <paramref name="Display"/> the address as QEMU prints it in a connect error.
    /// </summary>
    public sealed record Device(string Name, string Display, EndPoint Address) : HostTarget;

    /// <summary>A command run per connection with the stream as stdin/stdout (guestfwd <c>-cmd:COMMAND</c>).</summary>
    public sealed record Command(string CommandLine) : HostTarget;

    /// <summary>A service of the netdev's own that takes each connection as a socket (smb's smbd, one per connection).</summary>
    public sealed record Service(IConnectionService Server) : HostTarget;
}
