namespace Netdevd.Backends.Io;

/// <summary>Who ends an <see cref="IoThread"/>, and so whether loops from elsewhere may join it.</summary>
internal enum IoThreadLifetime
{
    /// <summary>Whoever created it disposes it, whatever loops it still serves; so no one else joins it.</summary>
    Owner,

    /// <summary>A backend's own thread (a tap's, a stream's, a vhost-user queue pair's): it ends when its last member leaves, so a loop that followed its frames onto it keeps it going.</summary>
    LastMember,

    /// <summary>A shared thread of an <see cref="IoThreadPool"/>: lives as long as the process.</summary>
    Process,
}
