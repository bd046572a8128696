namespace Netdevd.Fuzz.Support;

/// <summary>A harness's own check failed (the code under test did not throw, but its output is wrong).</summary>
public sealed class FuzzFindingException : Exception
{
    public FuzzFindingException()
    {
    }

    public FuzzFindingException(string message)
        : base(message)
    {
    }

    public FuzzFindingException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
