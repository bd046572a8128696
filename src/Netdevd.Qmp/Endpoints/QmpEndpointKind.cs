namespace Netdevd.Qmp.Endpoints;

/// <summary>The transports a QMP endpoint can listen on.</summary>
public enum QmpEndpointKind
{
    /// <summary>A unix stream socket (supports passing descriptors for <c>getfd</c>).</summary>
    Unix,

    /// <summary>A TCP socket.</summary>
    Tcp,
}
