namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// A chain the device took from a <see cref="Virtqueue"/>: where its first descriptor is, the id
/// its used entry returns to the driver, and how many ring slots it spans. A split ring's id is
/// its head index and it spans one available entry; a packed ring's id is the driver's buffer id
/// and its descriptors lie one after another in the ring.
/// </summary>
public readonly record struct ChainHead(ushort Index, ushort Id, ushort Descriptors);
