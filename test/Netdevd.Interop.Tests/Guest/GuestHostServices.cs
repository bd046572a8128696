using System.Net.Sockets;
using System.Security.Cryptography;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.Guest;

/// <summary>
/// What the VM tests serve a guest on the host's loopback: a random payload.bin over busybox
/// httpd, and dnsmasq answering <see cref="DnsName"/> with the test's own address, reached
/// through netdevd's DNS proxy once <see cref="ResolvConf"/> is its resolver file.
/// </summary>
internal sealed record GuestHostServices(byte[] Payload, int DnsPort, int HttpPort)
{
    public const string DnsName = "files.netdevd.test";

    public const string PayloadFile = "payload.bin";

    /// <summary>A resolver file naming the dnsmasq (netdevd reads <c>nameserver ADDR#PORT</c>).</summary>
    public string ResolvConf => $"nameserver 127.0.0.1#{DnsPort}\n";

    /// <summary>Starts both in <paramref name="dir"/>; they join <paramref name="processes"/> to be ended with the test.</summary>
    public static async Task<GuestHostServices> StartAsync(string dir, List<CapturedProcess> processes, string dnsmasq, string busybox, string dnsAddress, int payloadBytes)
    {
        var payload = RandomNumberGenerator.GetBytes(payloadBytes);
        await File.WriteAllBytesAsync(Path.Combine(dir, PayloadFile), payload);

        // dnsmasq binds its port for UDP and TCP; a port found free for one may be taken for the
        // other, or taken between the probe and dnsmasq's bind by another test's socket (a full
        // run once failed here with "Address already in use"): another port then.
        int dnsPort;
        CapturedProcess dns;
        for (var attempt = 1; ; attempt++)
        {
            dnsPort = HostTools.FreePort(SocketType.Dgram);
            dns = GuestVmTests.Track(processes, CapturedProcess.Start(dnsmasq, [
                "--no-daemon", "--log-facility=-", "--no-resolv", "--no-hosts", "--listen-address=127.0.0.1", "--bind-interfaces",
                $"--port={dnsPort}", $"--address=/{DnsName}/{dnsAddress}", $"--pid-file={dir}/dnsmasq.pid"]));
            if (await dns.WaitForAsync("started", TimeSpan.FromSeconds(30)))
            {
                break;
            }

            Assert.True(attempt < 5 && dns.Output.Contains("Address already in use", StringComparison.Ordinal), $"dnsmasq did not start:\n{dns.Output}");
        }

        var httpPort = HostTools.FreePort();
        GuestVmTests.Track(processes, CapturedProcess.Start(busybox, ["httpd", "-f", "-p", $"127.0.0.1:{httpPort}", "-h", dir]));
        await GuestVmTests.WaitForListenerAsync(httpPort);
        return new GuestHostServices(payload, dnsPort, httpPort);
    }
}
