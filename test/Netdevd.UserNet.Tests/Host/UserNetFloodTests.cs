using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;
using Netdevd.UserNet.Tests.Nat;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// A host peer that floods a guest's UDP flow faster than the guest takes the frames: a round of
/// the user netdev's host I/O still ends, so an I/O thread it shares with other netdevs
/// (--io-threads, or the thread of the backend its host I/O followed) serves them too.
/// </summary>
public sealed class UserNetFloodTests
{
    private const ushort GuestPort = 40100;

    [Fact]
    public async Task A_flooded_udp_flow_toward_a_slow_guest_lets_the_io_thread_go_back_to_its_poll()
    {
        using var host = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        host.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var io = new CountingIoThread();
        var client = UserNetClient.Create("u-flood", UserNetConfigParser.Parse(new NetdevUserOptions { Ipv6 = false }), TimeProvider.System, NullLogger.Instance, ioThread: io);
        var guest = new SlowGuest();
        NetClient.Connect(client, guest);
        Thread? flood = null;
        var stop = false;
        try
        {
            // The guest opens the flow; the netdev's host socket for it is where the flood goes.
            guest.Inject(GuestFrames.Udp(GuestFrames.Host, GuestPort, (ushort)((IPEndPoint)host.LocalEndPoint!).Port, "hello"u8.ToArray()));
            var buffer = new byte[64];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            host.ReceiveTimeout = 10_000;
            _ = host.ReceiveFrom(buffer, ref from);
            var natSocket = (IPEndPoint)from;

            // Thousands of datagrams queued ahead of the netdev, so the flood cannot run dry
            // while the flooding thread waits for a core.
            DeepenReceiveBuffer(natSocket);
            host.Connect(natSocket);
            host.Blocking = false;
            var payload = new byte[60];
            flood = new Thread(() =>
            {
                while (!Volatile.Read(ref stop))
                {
                    _ = host.Send(payload, SocketFlags.None, out _);
                }
            }) { IsBackground = true, Name = "udp-flood" };
            flood.Start();
            Assert.True(SpinWait.SpinUntil(() => guest.Count > 100, TimeSpan.FromSeconds(10)), "the flood never reached the guest");

            // Rounds go on ending while the flood goes on: the thread would serve other netdevs.
            var returns = io.Returns;
            Assert.True(
                SpinWait.SpinUntil(() => io.Returns >= returns + 3, TimeSpan.FromSeconds(10)),
                $"the I/O thread's callback returned {io.Returns - returns} times in 10 s of flood");
        }
        finally
        {
            Volatile.Write(ref stop, true);
            flood?.Join();
            await client.DisposeAsync();
            await guest.DisposeAsync();
            io.Dispose();
        }
    }

    /// <summary>Finds the netdev's host socket bound to <paramref name="local"/> (same process) and gives it an 8 MiB receive buffer (past rmem_max as root).</summary>
    private static void DeepenReceiveBuffer(IPEndPoint local)
    {
        const int SoRcvBufForce = 33;
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            // Bound to the wildcard address or to loopback: the port and the kind of socket tell.
            if (!int.TryParse(Path.GetFileName(entry), out var fd) || Libc.GetSockName(fd)?.ToIPEndPoint() is not { } bound
                || bound.Port != local.Port || bound.AddressFamily != local.AddressFamily
                || Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, SoType, out var type) != 0 || type != SockDgram)
            {
                continue;
            }

            if (Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, SoRcvBufForce, 8 << 20) != 0)
            {
                _ = Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, 8 << 20);
            }

            return;
        }

        Assert.Fail($"no socket of this process is bound to port {local.Port}");
    }

    private const int SoType = 3;
    private const int SockDgram = 2;

    /// <summary>A guest that spins about 50 µs on every frame: slower than any host sender.</summary>
    private sealed class SlowGuest() : NetClient("guest", NetClientDriver.Stream)
    {
        private static readonly long s_spinTicks = Stopwatch.Frequency / 20_000;
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public void Inject(byte[] frame) => Send(frame);

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
        {
            var until = Stopwatch.GetTimestamp() + s_spinTicks;
            while (Stopwatch.GetTimestamp() < until)
            {
                Thread.SpinWait(10);
            }

            Interlocked.Increment(ref _count);
            return ReceiveResult.Accepted;
        }
    }
}
