using Netdevd.Core.Clients;

namespace Netdevd.Backends.Io;

/// <summary>What a <see cref="PollLoop"/> calls on its own thread when the watched descriptor is ready.</summary>
internal interface IPollTarget
{
    /// <summary>The descriptor is readable: read until EAGAIN (or until the peer pushes back).</summary>
    void OnReadable();

    /// <summary>The descriptor is writable again: finish partial writes, then flush the queue.</summary>
    void OnWritable();

    /// <summary>POLLERR, POLLHUP or POLLNVAL without readable data.</summary>
    void OnHangup();

    /// <summary>Records what a frame read here touches on its way (see <see cref="HotObjects"/>); nothing by default.</summary>
    void CollectHot(HotObjects hot)
    {
    }
}
