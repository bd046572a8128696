namespace Netdevd.UserNet.Services.Tftp;

/// <summary>Where the TFTP server's files come from: a directory on disk, or memory in tests.</summary>
public interface ITftpFileSource
{
    /// <summary>Opens a file by the name the client sent; never creates or writes anything.</summary>
    TftpOpenResult Open(string name, out ITftpFile? file);
}
