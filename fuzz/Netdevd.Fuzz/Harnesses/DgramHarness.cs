using Netdevd.Backends.Dgram;
using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Fuzz.Support;
using Netdevd.Qapi.Schema;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// Datagrams (one per record, of any size up to 64 KiB) into the dgram/socket/vde receive path:
/// the shared datagram client reads them from its socket with recvmmsg and hands frames on.
/// The client is made once per process and its poll thread never reads (it has no peer), so
/// the harness thread drives the reads itself.
/// </summary>
public static class DgramHarness
{
    private static readonly Lazy<(DatagramPair Pair, DatagramNetClient Client)> s_client = new(() =>
    {
        var pair = new DatagramPair();
        return (pair, new DatagramNetClient("fuzz-dgram", NetClientDriver.Dgram, pair.BackendFd, null, "dgram: fuzz"));
    });

    public static void Run(ReadOnlySpan<byte> input)
    {
        var (pair, client) = s_client.Value;
        Feed(pair, client, input);
    }

    internal static void Feed(DatagramPair pair, NetClient client, ReadOnlySpan<byte> input)
    {
        var reader = new FuzzReader(input);
        while (!reader.IsAtEnd)
        {
            var datagram = reader.Record();
            if (!pair.Write(datagram))
            {
                // The socket buffer is full: let the client read, then queue the datagram again.
                ((IPollTarget)client).OnReadable();
                _ = pair.Write(datagram);
            }
        }

        ((IPollTarget)client).OnReadable();
    }
}
