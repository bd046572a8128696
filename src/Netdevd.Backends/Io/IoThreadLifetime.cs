namespace Netdevd.Backends.Io;

/// <summary>Who ends an <see cref="IoThread"/>. Either way loops from elsewhere may join it while it runs.</summary>
internal enum IoThreadLifetime
{
    /// <summary>A backend's own thread (a tap's, a stream's, a vhost-user queue pair's): it ends when its last member leaves, so a loop that followed its frames onto it keeps it going.</summary>
    LastMember,

    /// <summary>A shared thread of an <see cref="IoThreadPool"/>: lives as long as the process.</summary>
    Process,
}
