namespace Netdevd.UserNet.Host;

/// <summary>
/// A host socket with something to do (I/O it is ready for, a result to report): queued on the
/// engine at most once and run after the stack's current pass, so a socket never calls into the
/// stack from inside one of the stack's own calls.
/// </summary>
internal abstract class HostWork
{
    /// <summary>Whether the engine holds this in its queue (the engine's to change).</summary>
    internal bool Queued { get; set; }

    /// <summary>Does the pending I/O and tells the stack (under the engine lock, outside any stack call).</summary>
    public abstract void Run();
}
