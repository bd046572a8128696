using System.Net;

namespace Netdevd.UserNet.Services.Dns;

/// <summary>Where the DNS proxy gets the host's resolvers, in the order to try them.</summary>
public interface IResolverSource
{
    /// <summary>The resolvers now; a list once returned is never changed, so a query may keep it.</summary>
    IReadOnlyList<IPEndPoint> Current { get; }
}

/// <summary>A list that never changes (tests, and callers that read the resolvers themselves).</summary>
public sealed class FixedResolvers(IReadOnlyList<IPEndPoint> resolvers) : IResolverSource
{
    public IReadOnlyList<IPEndPoint> Current { get; } = resolvers;
}
