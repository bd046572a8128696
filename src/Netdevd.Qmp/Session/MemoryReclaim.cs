namespace Netdevd.Qmp.Session;

/// <summary>
/// Gives memory back to the system after a client sent a huge message (QEMU's limit is 64 MiB
/// per message). The buffers are dropped as soon as the message is done, but the garbage they
/// leave would otherwise stay resident until some later collection, and an idle daemon may not
/// collect for hours: a process that once read one big message would look that big for good.
/// </summary>
/// <remarks>
/// A full, compacting collection that decommits freed memory; at most one per
/// <see cref="s_interval"/> whatever the clients send, so a client repeating big messages
/// cannot turn this into a CPU cost for the daemon.
/// </remarks>
internal static class MemoryReclaim
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(5);
    private static long s_lastRun;
    private static int s_pending;

    public static void Request()
    {
        if (Interlocked.Exchange(ref s_pending, 1) != 0)
        {
            return;
        }

        // Milliseconds until the interval since the last run is over (negative: already over).
        var waitMs = Volatile.Read(ref s_lastRun) + (long)s_interval.TotalMilliseconds - Environment.TickCount64;
        _ = Task.Run(async () =>
        {
            if (waitMs > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(waitMs)).ConfigureAwait(false);
            }

            Volatile.Write(ref s_pending, 0);
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            Volatile.Write(ref s_lastRun, Environment.TickCount64);
        });
    }
}
