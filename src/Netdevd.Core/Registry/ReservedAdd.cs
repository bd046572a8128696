namespace Netdevd.Core.Registry;

/// <summary>
/// The second half of a two-phase add (netdevs and chardevs alike): the object was made under a
/// registry's gate and its id reserved; it waits on its far end outside the gate, then enters the
/// registry under the gate, or is closed and its id freed. Not cancellable once the wait is over:
/// the reservation must be resolved whatever the caller does then.
/// </summary>
internal static class ReservedAdd
{
    /// <summary>
    /// Waits for <paramref name="ready"/>; then, under <paramref name="gate"/>,
    /// <paramref name="tryPublish"/> enters the object (false: the registry closed meanwhile).
    /// Otherwise the object is closed first (<paramref name="close"/>: a new add of the id must not
    /// meet its socket, port or chardev still taken, as after a delete) and
    /// <paramref name="freeId"/> runs under the gate.
    /// </summary>
    /// <returns>Whether the object was entered, and why not: the wait's failure, or null when the registry closed.</returns>
    public static async Task<(bool Published, Exception? Failure)> ResolveAsync(
        SemaphoreSlim gate, Task ready, Func<bool> tryPublish, Func<ValueTask> close, Action freeId)
    {
        Exception? failure = null;
        try
        {
            await ready.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            failure = e;
        }

        if (failure is null)
        {
            await gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (tryPublish())
                {
                    return (true, null);
                }
            }
            finally
            {
                gate.Release();
            }
        }

        // Outside the gate: closing may take a while (a far end that does not answer).
        await close().ConfigureAwait(false);
        await gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            freeId();
        }
        finally
        {
            gate.Release();
        }

        return (false, failure);
    }
}
