namespace Netdevd.Core.Registry;

/// <summary>How a netdev was asked for; QEMU's checks differ slightly per path.</summary>
public enum NetdevOrigin
{
    /// <summary>QMP <c>netdev_add</c>: the id must be an identifier.</summary>
    Monitor,

    /// <summary><c>-netdev</c> in QemuOpts syntax: the parser checked the id; duplicates say "for netdev".</summary>
    CommandLineLegacy,

    /// <summary><c>-netdev</c> in keyval/JSON syntax: QEMU applies no identifier check here.</summary>
    CommandLineModern,
}
