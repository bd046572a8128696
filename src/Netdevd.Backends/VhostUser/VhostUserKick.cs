using Netdevd.Backends.Io;
using Netdevd.Native;

namespace Netdevd.Backends.VhostUser;

/// <summary>
/// The kick eventfd of one vring on its queue pair's worker: drains the counter and calls the
/// queue's handler. The descriptor is read only under the vring's gate and only while it is
/// still the vring's kick, so a kick replaced or closed by the control thread is never read.
/// </summary>
internal sealed class VhostUserKick : IPollTarget
{
    private readonly VhostUserVring _vring;
    private readonly VhostUserQueuePair _pair;

    public VhostUserKick(VhostUserVring vring, VhostUserQueuePair pair)
    {
        _vring = vring;
        _pair = pair;
    }

    public PollLoop? Loop { get; set; }

    /// <summary>The descriptor watched now (the vring's kick when it was last set up).</summary>
    public int WatchedFd { get; set; } = -1;

    public void OnReadable()
    {
        Span<byte> counter = stackalloc byte[8];
        lock (_vring.Gate)
        {
            var kick = _vring.Kick;
            if (kick is null || kick.IsClosed || (int)kick.DangerousGetHandle() != WatchedFd)
            {
                return;
            }

            _ = Libc.Read(WatchedFd, counter);
        }

        _pair.OnKick(_vring);
    }

    public void OnWritable()
    {
    }

    public void OnHangup()
    {
        // An eventfd does not hang up; a descriptor closed under the poll is replaced by now.
    }
}
