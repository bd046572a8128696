using System.Net;
using Netdevd.Native;

namespace Netdevd.UserNet.Services.Dns;

/// <summary>
/// The resolvers of a resolv.conf, kept current: each time they are asked for, the file's identity
/// (device, inode, size, modification and change times; through a symbolic link) is compared with
/// the one read last, and the file is read again when it differs. NetworkManager, resolvconf and
/// VPN clients replace the file by rename, which gives it a new inode, or rewrite it, which moves
/// its times: either way the next query uses the new nameservers, without a restart and without a
/// watcher thread (one statx per query; DNS is not a hot path). A file that is gone or unreadable
/// means no resolvers until it comes back.
/// </summary>
public sealed class ResolvConfWatcher : IResolverSource
{
    private readonly string _path;
    private IReadOnlyList<IPEndPoint> _current = [];
    private FileStamp? _stamp;

    public ResolvConfWatcher(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        _path = path;
        Refresh();
    }

    /// <summary>How many times the file was (re)read with a new identity, including the first read.</summary>
    public int Reads { get; private set; }

    public IReadOnlyList<IPEndPoint> Current
    {
        get
        {
            Refresh();
            return _current;
        }
    }

    private void Refresh()
    {
        FileStamp? stamp = Libc.TryGetFileStamp(_path, out var s) ? s : null;
        if (stamp == _stamp && Reads > 0)
        {
            return;
        }

        _stamp = stamp;
        _current = stamp is null ? [] : ResolvConf.Read(_path);
        Reads++;
    }
}
