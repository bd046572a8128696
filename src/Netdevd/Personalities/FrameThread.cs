using Netdevd.Backends.Io;

namespace Netdevd.Personalities;

/// <summary>
/// passt, pasta and slirp4netns move every frame on one thread, and so do netdevd's personalities
/// and <c>netdevd run</c> (one namespace, as pasta serves it):
/// the tap (or passt's socket) and the user netdev's host sockets share one poll thread, so a
/// reply from a host socket reaches the guest without waking a second thread. With a thread each
/// (the daemon's default with --netdev), a ping through the NAT to a host address took 0.21-0.25 ms against
/// slirp4netns' 0.18; on one thread 0.15-0.17, with bulk TCP through it the same within the
/// noise (bench/README.md, session 10).
/// </summary>
internal static class FrameThread
{
    /// <summary>Places every netdev made from here on onto one shared thread; call before the first.</summary>
    public static void UseOne() => IoThreadPool.Configure(1);
}
