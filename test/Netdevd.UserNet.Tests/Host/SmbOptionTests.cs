using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;

namespace Netdevd.UserNet.Tests.Host;

/// <summary><c>smb=DIR</c>'s checks with QEMU's texts, and its private directory's life.</summary>
public sealed class SmbOptionTests
{
    private static string Create(NetdevUserOptions options, string? smbd = null)
    {
        var config = UserNetConfigParser.Parse(options, "/nonexistent/resolv.conf", smbd);
        var e = Assert.Throws<QapiException>(() => UserNetClient.Create("u0", config, TimeProvider.System, NullLogger.Instance));
        return e.Message;
    }

    [Fact]
    public void Without_smbd_the_error_names_it()
    {
        var dir = Directory.CreateTempSubdirectory("netdevd-share-");
        try
        {
            Assert.Equal("Could not find '/nonexistent/sbin/smbd', please install it", Create(new NetdevUserOptions { Smb = dir.FullName }, "/nonexistent/sbin/smbd"));
        }
        finally
        {
            dir.Delete();
        }
    }

    [Fact]
    public void A_missing_shared_directory_is_refused_with_the_errno_text()
    {
        // /bin/sh stands in for smbd: only its existence is checked before the directory.
        Assert.Equal("Error accessing shared directory '/nonexistent/share': No such file or directory", Create(new NetdevUserOptions { Smb = "/nonexistent/share" }, "/bin/sh"));
    }

    [Theory]
    [InlineData("10.0.2.2")]
    [InlineData("10.0.2.3")]
    [InlineData("192.0.2.4")]
    public void An_smbserver_on_the_host_dns_or_outside_the_network_conflicts_and_leaves_no_directory(string server)
    {
        var dir = Directory.CreateTempSubdirectory("netdevd-share-");
        var before = Directory.GetDirectories(Path.GetTempPath(), "qemu-smb.*").Length;
        try
        {
            Assert.Equal("Conflicting/invalid smbserver address", Create(new NetdevUserOptions { Smb = dir.FullName, Smbserver = server }, "/bin/sh"));
            Assert.Equal(before, Directory.GetDirectories(Path.GetTempPath(), "qemu-smb.*").Length);
        }
        finally
        {
            dir.Delete();
        }
    }

    [Fact]
    public void A_guestfwd_on_the_smb_port_conflicts()
    {
        var dir = Directory.CreateTempSubdirectory("netdevd-share-");
        try
        {
            Assert.Equal("Conflicting/invalid smbserver address", Create(new NetdevUserOptions
            {
                Smb = dir.FullName,
                Guestfwd = [new() { Str = "tcp:10.0.2.4:445-cmd:cat" }],
            }, "/bin/sh"));
        }
        finally
        {
            dir.Delete();
        }
    }

    [Fact]
    public void The_private_directory_holds_smb_conf_and_goes_with_the_netdev()
    {
        var share = Directory.CreateTempSubdirectory("netdevd-share-");
        try
        {
            var smb = SmbServer.Create(share.FullName, "/bin/sh");
            var conf = File.ReadAllText(Path.Combine(smb.Directory, "smb.conf"));
            Assert.StartsWith("qemu-smb.", Path.GetFileName(smb.Directory), StringComparison.Ordinal);
            Assert.Contains("[qemu]\npath=" + share.FullName + "\n", conf, StringComparison.Ordinal);
            Assert.Contains("state directory=" + smb.Directory + "\n", conf, StringComparison.Ordinal);
            smb.Dispose();
            Assert.False(Directory.Exists(smb.Directory));
        }
        finally
        {
            share.Delete();
        }
    }
}
