using System.Net;
using System.Net.Sockets;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.UserNet.Nat;

namespace Netdevd.UserNet.Host;

/// <summary>
/// <c>smb=DIR</c> (QEMU's slirp_smb): the host's smbd serves DIR as the share <c>qemu</c> to the
/// guest at smbserver:139 and :445. As QEMU does, a private directory (qemu-smb.XXXXXX in the
/// temporary directory) holds a generated smb.conf and everything smbd writes (state, locks, pid,
/// cache, logs), and each guest connection gets its own smbd in inetd mode (the connection is its
/// standard input and output, a TCP socket pair over loopback as libslirp's). The smbd processes
/// are ended by their ids and the directory removed when the netdev goes.
/// </summary>
internal sealed class SmbServer : IConnectionService, IDisposable
{
    /// <summary>QEMU's CONFIG_SMBD_COMMAND on Debian.</summary>
    public const string DefaultSmbd = "/usr/sbin/smbd";

    private readonly string _smbd;
    private readonly string _conf;
    private readonly List<int> _children = [];
    private bool _disposed;

    private SmbServer(string smbd, string directory, string conf)
    {
        _smbd = smbd;
        Directory = directory;
        _conf = conf;
    }

    /// <summary>The private directory (removed at <see cref="Dispose"/>).</summary>
    public string Directory { get; }

    /// <summary>
    /// QEMU's checks in its order, with its texts: the user name, smbd, the shared directory; then
    /// the private directory and its smb.conf.
    /// </summary>
    public static SmbServer Create(string exportedDirectory, string? smbd = null)
    {
        ArgumentNullException.ThrowIfNull(exportedDirectory);
        smbd ??= DefaultSmbd;
        var user = Environment.UserName;
        if (string.IsNullOrEmpty(user))
        {
            throw QapiErrors.Generic("Failed to retrieve user name");
        }

        if (Libc.Access(smbd, Libc.F_OK) != 0)
        {
            throw QapiErrors.Generic($"Could not find '{smbd}', please install it");
        }

        if (Libc.Access(exportedDirectory, Libc.R_OK | Libc.X_OK) != 0)
        {
            throw QapiErrors.Generic($"Error accessing shared directory '{exportedDirectory}': {Errno.Message(Errno.Last)}");
        }

        string directory;
        try
        {
            directory = System.IO.Directory.CreateTempSubdirectory("qemu-smb.").FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw QapiErrors.Generic("Could not create samba server dir");
        }

        var conf = Path.Combine(directory, "smb.conf");
        try
        {
            File.WriteAllText(conf, Configuration(directory, exportedDirectory, user));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RemoveDirectory(directory);
            throw QapiErrors.Generic($"Could not create samba server configuration file '{conf}': {e.Message}");
        }

        return new SmbServer(smbd, directory, conf);
    }

    /// <summary>
    /// The settings QEMU writes: everything smbd keeps lives in the private directory, it binds
    /// to nothing of its own (interfaces=127.0.0.1 only; it is handed each connection), guests
    /// map to the share's owner, no printing.
    /// </summary>
    private static string Configuration(string dir, string export, string user) => $"""
        [global]
        private dir={dir}
        interfaces=127.0.0.1
        bind interfaces only=yes
        pid directory={dir}
        lock directory={dir}
        state directory={dir}
        cache directory={dir}
        ncalrpc dir={dir}/ncalrpc
        log file={dir}/log.smbd
        smb passwd file={dir}/smbpasswd
        security = user
        map to guest = Bad User
        load printers = no
        printing = bsd
        disable spoolss = yes
        usershare max shares = 0
        [qemu]
        path={export}
        read only=no
        guest ok=yes
        force user={user}

        """.Replace("\r", string.Empty, StringComparison.Ordinal);

    /// <summary>Starts one smbd for one guest connection and returns the netdev's end of it.</summary>
    public Socket Open()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var ours = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            ours.Connect(listener.LocalEndPoint!);
            using var theirs = listener.Accept();
            lock (_children)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                ReapEnded();
                var pid = Libc.SpawnWithStdio(_smbd, [_smbd, "-l", Directory, "-s", _conf], (int)theirs.Handle, out var error);
                if (pid < 0)
                {
                    throw new IOException($"{_smbd}: {Errno.Message(error)}");
                }

                _children.Add(pid);
            }

            ours.NoDelay = true;
            return ours;
        }
        catch
        {
            ours.Dispose();
            throw;
        }
    }

    /// <summary>The smbd processes still running (for tests and diagnostics).</summary>
    public IReadOnlyList<int> Children
    {
        get
        {
            lock (_children)
            {
                ReapEnded();
                return [.. _children];
            }
        }
    }

    public void Dispose()
    {
        int[] children;
        lock (_children)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            ReapEnded();
            children = [.. _children];
            _children.Clear();
        }

        foreach (var pid in children)
        {
            _ = Libc.Kill(pid, Libc.SIGTERM);
        }

        // smbd ends at once on SIGTERM; one that does not within a second is killed.
        var deadline = Environment.TickCount64 + 1000;
        foreach (var pid in children)
        {
            while (!Libc.TryReap(pid))
            {
                if (Environment.TickCount64 > deadline)
                {
                    _ = Libc.Kill(pid, Libc.SIGKILL);
                    while (!Libc.TryReap(pid))
                    {
                        Thread.Sleep(5);
                    }

                    break;
                }

                Thread.Sleep(5);
            }
        }

        RemoveDirectory(Directory);
    }

    private void ReapEnded() => _children.RemoveAll(Libc.TryReap);

    private static void RemoveDirectory(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // QEMU reports a failed 'rm -rf' and goes on; nothing else depends on it.
        }
    }
}
