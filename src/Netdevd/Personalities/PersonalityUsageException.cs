namespace Netdevd.Personalities;

/// <summary>A command line the personality refuses; the message is printed as is and the exit status is 1.</summary>
internal sealed class PersonalityUsageException(string message) : Exception(message);
