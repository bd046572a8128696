namespace Netdevd.Backends.Io;

/// <summary>How an idle read (<see cref="IIdleReadTarget.ReadWhenIdle"/>) ended.</summary>
internal enum IdleRead
{
    /// <summary>A frame came and was handled, with what followed it.</summary>
    Frame,

    /// <summary>Nothing was handled: the read was interrupted (the thread has other work) or brought nothing usable.</summary>
    Interrupted,

    /// <summary>The descriptor cannot be waited on this way (it failed); the thread goes back to epoll for it.</summary>
    Failed,
}

/// <summary>
/// A <see cref="PollLoop"/> target whose descriptor the thread may wait on in a blocking read once
/// it has idled (a tap: see IoThread's idle read).
/// </summary>
internal interface IIdleReadTarget
{
    /// <summary>Whether the descriptor may be waited on this way now (thread).</summary>
    bool CanReadWhenIdle { get; }

    /// <summary>
    /// Thread, idle: waits for the descriptor's next frame in one blocking read. The moment the
    /// read returns it calls <paramref name="thread"/>'s <see cref="IoThread.IdleReadReturned"/>,
    /// then handles the frame and whatever else is there, as OnReadable does.
    /// </summary>
    IdleRead ReadWhenIdle(IoThread thread, PollLoop loop);
}
