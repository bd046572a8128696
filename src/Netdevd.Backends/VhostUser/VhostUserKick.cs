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

            var n = Libc.Read(WatchedFd, counter);
            if (n == 0 || (n < 0 && Errno.Last is not (Errno.EAGAIN or Errno.EINTR)))
            {
                // Not an eventfd (a socket at its end, a pipe): it stays readable for ever.
                Dead("reads end of file or fail");
                return;
            }
        }

        _pair.OnKick(_vring);
    }

    public void OnWritable()
    {
    }

    public void OnHangup()
    {
        // An eventfd does not hang up; a descriptor closed under the poll is replaced by now.
        // What does (the read end of a pipe whose write end the front-end closed) reports
        // POLLHUP on every poll: left watched, the ring's thread would spin at 100%.
        lock (_vring.Gate)
        {
            var kick = _vring.Kick;
            if (kick is null || kick.IsClosed || (int)kick.DangerousGetHandle() != WatchedFd)
            {
                return;
            }
        }

        Dead("hung up");
    }

    /// <summary>The kick descriptor can never be waited on again: stop polling it and refuse the front-end, as for a broken ring.</summary>
    private void Dead(string what)
    {
        Loop?.Watch(-1);
        _pair.RefuseFromDatapath($"the kick descriptor of vring {_vring.Index} {what}; an eventfd is expected");
    }
}
