using Netdevd.Backends.Dgram;
using Netdevd.Backends.Vde;
using Netdevd.Fuzz.Support;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// vde: the switch's answer to the port request (the first record: the sockaddr of its data
/// socket, which the client connects to and chmods), then datagrams from the switch into the
/// vde port's receive path (the shared datagram client, as a vde netdev runs it).
/// </summary>
public static class VdeHarness
{
    private static readonly Lazy<(DatagramPair Pair, DatagramNetClient Client)> s_client = new(() =>
    {
        var pair = new DatagramPair();
        return (pair, new DatagramNetClient("fuzz-vde", NetClientDriver.Vde, pair.BackendFd, null, "vde: fuzz"));
    });

    public static void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzReader(input);
        var reply = reader.Record();
        var address = SockAddr.FromBytes(reply);
        _ = address.Family;
        _ = address.ToIPEndPoint();
        _ = VdeConnector.SunPath(reply);
        var (pair, client) = s_client.Value;
        DgramHarness.Feed(pair, client, reader.Rest);
    }
}
