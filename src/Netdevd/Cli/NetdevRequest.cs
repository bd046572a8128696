using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Cli;

/// <summary>One parsed <c>-netdev</c>: the text as given (for error messages), the netdev, and which QEMU path parsed it.</summary>
internal sealed record NetdevRequest(string Spec, Netdev Netdev, NetdevOrigin Origin);
