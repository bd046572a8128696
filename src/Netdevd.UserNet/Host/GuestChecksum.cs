namespace Netdevd.UserNet.Host;

/// <summary>
/// How a queued frame's L4 checksum stands: complete (<see cref="IsPartial"/> false), or left to the
/// receiver from <see cref="Start"/> (the L4 header's offset in the frame), to be stored at
/// <see cref="Start"/> + <see cref="Offset"/> (virtio-net's csum_start and csum_offset).
/// </summary>
internal readonly record struct GuestChecksum(ushort Start, ushort Offset)
{
    public bool IsPartial => Start != 0;
}
