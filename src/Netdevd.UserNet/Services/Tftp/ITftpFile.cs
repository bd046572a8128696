namespace Netdevd.UserNet.Services.Tftp;

/// <summary>A file opened for reading by block; the length is fixed at open (it is sent as tsize).</summary>
public interface ITftpFile : IDisposable
{
    long Length { get; }

    /// <summary>Reads up to <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; fewer only at the end.</summary>
    int Read(long offset, Span<byte> destination);
}
