using System.IO.Compression;
using System.Text;

namespace Netdevd.Interop.Tests.Guest;

/// <summary>
/// Builds the guest's initramfs (gzipped cpio newc): static busybox, the kernel's virtio-net
/// modules, and an /init that exercises the user network and reports on the serial console,
/// one <c>NETDEVD-GUEST key=value</c> line per result, then powers off.
/// </summary>
internal static class GuestInitramfs
{
    public const string Marker = "NETDEVD-GUEST";

    private const string UdhcpcScript = $$"""
        #!/bin/sh
        # busybox udhcpc calls this with the lease in the environment ($mask is the prefix length).
        case "$1" in
        bound|renew)
            ip addr add "$ip/$mask" dev "$interface"
            ip route add default via "$router"
            : > /etc/resolv.conf
            for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
            echo "{{Marker}} ip=$ip router=$router dns=$dns"
            ;;
        esac
        exit 0

        """;

    /// <summary>
    /// Writes the archive to <paramref name="path"/>; returns the modules it carries (built-in ones are absent).
    /// With <paramref name="serveSeconds"/> the guest also serves its downloaded payload on port 80
    /// for that long before it says "done" (for forwards from the host into the guest).
    /// With <paramref name="ipv6"/> the guest also waits for its SLAAC address and downloads the
    /// payload over IPv6 from the virtual host address and that port.
    /// </summary>
    public static IReadOnlyList<string> Write(string path, string busybox, GuestKernel kernel, string dnsName, int httpPort, string payload, int serveSeconds = 0, Ipv6Download? ipv6 = null)
    {
        var included = new List<string>();
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        var cpio = new CpioNewcWriter(gzip);
        foreach (var dir in new[] { "bin", "dev", "etc", "proc", "sys", "tmp", "modules" })
        {
            cpio.Directory(dir);
        }

        // Without /dev/console the kernel starts init with no stdout and the markers are lost.
        cpio.CharDevice("dev/console", 5, 1);
        cpio.File("bin/busybox", File.ReadAllBytes(busybox), executable: true);
        cpio.Symlink("bin/sh", "busybox");
        for (var i = 0; i < GuestKernel.NetModules.Length; i++)
        {
            var name = GuestKernel.NetModules[i];
            if (kernel.LoadModule(name) is { } module)
            {
                // The numeric prefix keeps the load order when /init globs the directory.
                cpio.File($"modules/{i:D2}-{name}.ko", module, executable: false);
                included.Add(name);
            }
        }

        cpio.File("udhcpc.sh", Script(UdhcpcScript), executable: true);
        cpio.File("init", Script(InitScript(dnsName, httpPort, payload, serveSeconds, ipv6)), executable: true);
        cpio.Trailer();
        return included;
    }

    private static byte[] Script(string text) => Encoding.UTF8.GetBytes(text.Replace("\r", "", StringComparison.Ordinal));

    /// <summary>
    /// After DHCPv4 the kernel configures the address itself from the router advertisement once
    /// eth0 is up (accept_ra is on by default); the address counts only when duplicate address
    /// detection is over ("tentative" gone), since until then the kernel will not use it as a source.
    /// Not "scope global": the kernel gives addresses in fec0::/10 (site-local) scope site.
    /// </summary>
    private static string Ipv6Steps(Ipv6Download? ipv6, string payload) => ipv6 is not { } v6 ? "" : $$"""
        addr6=none
        for i in $(seq 1 30); do
            addr6=$(ip -6 addr show dev eth0 | awk '/inet6/ && $2 !~ /^fe80:/ && !/tentative/ { sub("/.*", "", $2); print $2; exit }')
            [ -n "$addr6" ] && break
            addr6=none
            sleep 1
        done
        echo "{{Marker}} ipv6=$addr6"
        if timeout 60 wget -q -O /tmp/payload6 "http://[{{v6.HostAddress}}]:{{v6.Port}}/{{payload}}"; then
            echo "{{Marker}} sha256-ipv6=$(sha256sum /tmp/payload6 | cut -d' ' -f1)"
        else
            echo "{{Marker}} wget-ipv6=failed"
        fi

        """;

    private static string InitScript(string dnsName, int httpPort, string payload, int serveSeconds, Ipv6Download? ipv6) => $$"""
        #!/bin/sh
        /bin/busybox mount -t proc proc /proc
        /bin/busybox --install -s /bin
        export PATH=/bin
        mount -t sysfs sys /sys
        # Keep kernel messages from splitting the marker lines on the shared serial console.
        echo 1 > /proc/sys/kernel/printk
        echo "{{Marker}} start"
        for m in /modules/*.ko; do insmod "$m" || echo "{{Marker}} insmod-failed=$m"; done
        ip link set lo up
        ip link set eth0 up || echo "{{Marker}} no-eth0"
        udhcpc -i eth0 -s /udhcpc.sh -n -q -t 10 -T 2 || echo "{{Marker}} dhcp=failed"

        ping_result=failed
        for i in 1 2 3; do
            if ping -c 1 -W 3 10.0.2.2 > /dev/null; then ping_result=ok; break; fi
        done
        echo "{{Marker}} ping=$ping_result"

        # busybox nslookup uses /etc/resolv.conf, i.e. the DNS server DHCP gave (10.0.2.3).
        resolved=none
        for i in 1 2 3 4 5; do
            resolved=$(nslookup {{dnsName}} 2>&1 | awk '/^Name:/ { n = 1 } n && /^Address/ { print $NF; exit }')
            [ -n "$resolved" ] && break
            resolved=none
            sleep 1
        done
        echo "{{Marker}} resolved=$resolved"

        # Bounded with timeout(1): this busybox's own wget -T crashes (SIGSEGV) in the static build.
        if timeout 60 wget -q -O /tmp/payload http://10.0.2.2:{{httpPort}}/{{payload}}; then
            echo "{{Marker}} sha256=$(sha256sum /tmp/payload | cut -d' ' -f1) md5=$(md5sum /tmp/payload | cut -d' ' -f1)"
        else
            echo "{{Marker}} wget=failed"
        fi
        {{Ipv6Steps(ipv6, payload)}}
        if [ {{serveSeconds}} -gt 0 ]; then
            httpd -p 80 -h /tmp && echo "{{Marker}} serving=80"
            sleep {{serveSeconds}}
        fi

        echo "{{Marker}} done"
        poweroff -f

        """;
}
