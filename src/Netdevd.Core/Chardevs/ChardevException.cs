namespace Netdevd.Core.Chardevs;

/// <summary>A chardev could not be set up or connected; the message is QEMU's text for the same failure.</summary>
public sealed class ChardevException : Exception
{
    public ChardevException()
    {
    }

    public ChardevException(string message)
        : base(message)
    {
    }

    public ChardevException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
