namespace Netdevd.UserNet.Services.Tftp;

/// <summary>Outcome of <see cref="ITftpFileSource.Open"/>, mapped to TFTP error codes 1 and 2.</summary>
public enum TftpOpenResult
{
    Ok,
    NotFound,
    AccessViolation,
}
