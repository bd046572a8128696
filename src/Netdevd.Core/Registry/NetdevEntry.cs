using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Registry;

/// <summary>A netdev the registry holds: its client and the options it was created with.</summary>
public sealed record NetdevEntry(string Id, Netdev Options, NetClient Client);
