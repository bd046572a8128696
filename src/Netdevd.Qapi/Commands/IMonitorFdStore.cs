namespace Netdevd.Qapi.Commands;

/// <summary>A monitor's descriptors received by SCM_RIGHTS and named with <c>getfd</c>.</summary>
public interface IMonitorFdStore
{
    /// <summary>Takes the descriptor named <paramref name="name"/> out of the store; false when none.</summary>
    bool TryTake(string name, out int fd);
}
