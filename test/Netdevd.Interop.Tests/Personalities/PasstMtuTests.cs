using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// passt's --mtu, which libvirt passes for an interface's &lt;mtu size='N'/&gt;: the guest is told
/// the MTU in the DHCP offer (option 26). The test is the guest: QEMU's stream framing on the
/// socket, a DHCP discover of its own making.
/// </summary>
public sealed class PasstMtuTests
{
    [Fact]
    public async Task The_dhcp_offer_tells_the_guest_the_mtu_given_with_mtu()
    {
        var dir = HostTools.TempDir();
        var socket = Path.Combine(dir, "passt.socket");
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "netdevd"))
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "passt", "--foreground", "--socket", socket, "--mtu", "9000", "--ipv4-only" })
        {
            start.ArgumentList.Add(a);
        }

        using var passt = Process.Start(start)!;
        try
        {
            await using var guest = await StreamFramePeer.ConnectAsync(new UnixDomainSocketEndPoint(socket), TimeSpan.FromSeconds(60));
            byte[]? offer = null;
            for (var i = 0; i < 30 && offer is null; i++)
            {
                // As a DHCP client does: again until answered (the socket listens a little before
                // the user network behind it is attached).
                await guest.SendAsync(DhcpDiscover());
                byte[] frame;
                try
                {
                    frame = await guest.ReceiveAsync(TimeSpan.FromSeconds(2));
                }
                catch (OperationCanceledException)
                {
                    continue;
                }

                // IPv4, UDP, to port 68: the server's answer.
                if (frame.Length > 42 && frame[12] == 0x08 && frame[13] == 0x00 && frame[23] == 17 && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(36)) == 68)
                {
                    offer = frame;
                }
            }

            Assert.NotNull(offer);
            Assert.Equal(9000, InterfaceMtu(offer.AsSpan(42)));
        }
        finally
        {
            passt.Kill();
            await passt.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A broadcast DHCPDISCOVER from 52:54:00:12:34:56 asking for the subnet mask, router and MTU.</summary>
    private static byte[] DhcpDiscover()
    {
        byte[] options = [53, 1, 1, 55, 3, 1, 3, 26, 255];
        var bootp = new byte[240 + options.Length];
        bootp[0] = 1; // BOOTREQUEST
        bootp[1] = 1; // Ethernet
        bootp[2] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(bootp.AsSpan(4), 0x0d0e0a0d);
        bootp[10] = 0x80; // broadcast flag
        byte[] mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        mac.CopyTo(bootp, 28);
        BinaryPrimitives.WriteUInt32BigEndian(bootp.AsSpan(236), 0x63825363);
        options.CopyTo(bootp, 240);

        var frame = new byte[14 + 20 + 8 + bootp.Length];
        frame.AsSpan(0, 6).Fill(0xff);
        mac.CopyTo(frame, 6);
        frame[12] = 0x08;
        var ip = frame.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + bootp.Length));
        ip[8] = 64;
        ip[9] = 17;
        ip[16..20].Fill(0xff);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip));
        var udp = frame.AsSpan(34, 8);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 68);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 67);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + bootp.Length)); // checksum 0: none, allowed over IPv4
        bootp.CopyTo(frame, 42);
        return frame;
    }

    private static ushort Checksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (var i = 0; i < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>Option 26 of a BOOTP message, or -1 without one.</summary>
    private static int InterfaceMtu(ReadOnlySpan<byte> bootp)
    {
        for (var i = 240; i < bootp.Length && bootp[i] != 255;)
        {
            if (bootp[i] == 0)
            {
                i++;
                continue;
            }

            if (bootp[i] == 26 && bootp[i + 1] == 2)
            {
                return BinaryPrimitives.ReadUInt16BigEndian(bootp[(i + 2)..]);
            }

            i += 2 + bootp[i + 1];
        }

        return -1;
    }
}
