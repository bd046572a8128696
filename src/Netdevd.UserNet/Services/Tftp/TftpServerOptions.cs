namespace Netdevd.UserNet.Services.Tftp;

/// <summary>Limits of the TFTP server.</summary>
public sealed record TftpServerOptions
{
    /// <summary>libslirp's TFTP_SESSIONS_MAX.</summary>
    public int MaxSessions { get; init; } = 20;

    /// <summary>Largest blksize granted: 1468 fills a 1500-byte MTU (1468 + 4 + 8 + 20).</summary>
    public int MaxBlockSize { get; init; } = 1468;

    /// <summary>Retransmission timeout unless the client asks for one (RFC 2349).</summary>
    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(1);

    public int MaxRetransmissions { get; init; } = 5;

    /// <summary>libslirp's TFTP_FILENAME_MAX.</summary>
    public int MaxFileNameLength { get; init; } = 512;
}
