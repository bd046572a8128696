using System.Security.Cryptography;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// <c>smb=DIR</c> with the host's smbd (Debian samba): a namespace guest's smbclient lists the
/// share <c>qemu</c> at 10.0.2.4 and reads a file with the right bytes; when the netdev goes, its
/// smbd processes and private directory go too.
/// </summary>
[Collection("user-netdev")]
public sealed class UserNetSmbInteropTests
{
    [Fact]
    public async Task Smbclient_in_the_guest_lists_and_reads_the_share()
    {
        UserNetRig.RequireTools();
        HostTools.Require("smbd", "samba");
        HostTools.Require("smbclient", "smbclient");
        var dir = HostTools.TempDir();
        var share = Path.Combine(dir, "share");
        Directory.CreateDirectory(share);
        var data = RandomNumberGenerator.GetBytes(300_000);
        await File.WriteAllBytesAsync(Path.Combine(share, "data.bin"), data);
        var got = Path.Combine(dir, "got.bin");

        string? smbDir;
        await using (var rig = await UserNetRig.StartAsync($"smb={share}"))
        {
            await rig.DhcpAsync();
            smbDir = FindPrivateDirectory(share);
            Assert.NotNull(smbDir);
            var (status, output) = await rig.GuestAsync($"smbclient //10.0.2.4/qemu -N -c \"ls; get data.bin {got}\"", TimeSpan.FromSeconds(60));
            Assert.True(status == 0, output);
            Assert.Contains("data.bin", output, StringComparison.Ordinal);
            Assert.Equal(data, await File.ReadAllBytesAsync(got));

            // A connection left open keeps its smbd running until the netdev goes.
            rig.GuestServer("sh -c 'sleep 600 | busybox nc 10.0.2.4 445 > /dev/null'");
            for (var i = 0; i < 100 && ProcessesMentioning(smbDir).Count == 0; i++)
            {
                await Task.Delay(100);
            }

            Assert.NotEmpty(ProcessesMentioning(smbDir));
            await using var qmp = await QmpTestClient.ConnectAsync(rig.QmpPath, TimeSpan.FromSeconds(20));
            var deleted = await qmp.ExecuteAsync("netdev_del", new { id = "u0" });
            Assert.True(deleted.ContainsKey("return"), deleted.ToJsonString());
            Assert.False(Directory.Exists(smbDir), $"{smbDir} was left behind");
            Assert.Empty(ProcessesMentioning(smbDir));
        }
    }

    /// <summary>The qemu-smb.XXXXXX directory whose smb.conf shares <paramref name="share"/>.</summary>
    private static string? FindPrivateDirectory(string share)
    {
        foreach (var d in Directory.GetDirectories(Path.GetTempPath(), "qemu-smb.*"))
        {
            var conf = Path.Combine(d, "smb.conf");
            if (File.Exists(conf) && File.ReadAllText(conf).Contains($"path={share}\n", StringComparison.Ordinal))
            {
                return d;
            }
        }

        return null;
    }

    /// <summary>Processes whose command line names <paramref name="text"/> (smbd gets the private directory as -l and -s).</summary>
    private static List<string> ProcessesMentioning(string text)
    {
        var found = new List<string>();
        foreach (var p in Directory.GetDirectories("/proc"))
        {
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(p, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(text, StringComparison.Ordinal))
                {
                    found.Add($"{Path.GetFileName(p)}: {cmdline}");
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
