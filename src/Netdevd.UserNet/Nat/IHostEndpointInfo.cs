using System.Net;

namespace Netdevd.UserNet.Nat;

/// <summary>A flow's host socket as query-usernet shows it (read under the stack's lock).</summary>
internal interface IHostEndpointInfo
{
    /// <summary>The socket's own address (getsockname), or null when it has none (not yet open, or closed).</summary>
    IPEndPoint? HostLocalEndPoint { get; }
}
