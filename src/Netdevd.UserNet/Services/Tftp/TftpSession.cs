namespace Netdevd.UserNet.Services.Tftp;

/// <summary>One read transfer: what was negotiated and which block is in flight.</summary>
internal sealed class TftpSession(TftpClientEndpoint client, ITftpFile file) : IDisposable
{
    public TftpClientEndpoint Client { get; } = client;

    public ITftpFile File { get; } = file;

    public TftpSessionState State { get; set; }

    public int BlockSize { get; set; } = Wire.TftpPacket.DefaultBlockSize;

    public TimeSpan Timeout { get; set; }

    /// <summary>Options to repeat in the OACK (when retransmitted): -1 = not negotiated.</summary>
    public int OackBlockSize { get; set; } = -1;

    public bool OackTsize { get; set; }

    public int OackTimeout { get; set; } = -1;

    /// <summary>The block in flight (1-based, not wrapped); 0 while the OACK is in flight.</summary>
    public long Block { get; set; }

    public long LastSentTimestamp { get; set; }

    public int Retransmissions { get; set; }

    public long Offset => (Block - 1) * BlockSize;

    public void Dispose() => File.Dispose();
}
