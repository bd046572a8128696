using Netdevd.Backends.Io;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Native;
using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.AfXdp;

/// <summary>
/// <c>-netdev af-xdp,id=ID,ifname=IF[,mode=native|skb][,force-copy=on][,queues=N][,start-queue=M][,inhibit=on,sock-fds=FD:FD...]</c>
/// (QEMU's net_init_af_xdp): QEMU's checks and texts in QEMU's order, then per queue its UMEM
/// and its socket, then the check that a program is there. Queue i binds to the interface's
/// queue i + start-queue. Without <c>mode</c> the program is attached in native (driver) mode
/// if the interface allows it, else in skb (generic) mode, as QEMU tries.
/// </summary>
public sealed class AfXdpNetdevFactory : INetdevFactory
{
    /// <summary>XSKMAP entries at least (libxdp sizes it by the interface's queues; 64 covers any veth).</summary>
    private const uint MinimumMapEntries = 64;

    private readonly IoThreadPool? _pool;

    public AfXdpNetdevFactory()
    {
    }

    /// <summary>Netdevs on <paramref name="pool"/>'s threads rather than the default pool's (tests: several netdevs on one thread).</summary>
    internal AfXdpNetdevFactory(IoThreadPool pool) => _pool = pool;

    public NetClientDriver Driver => NetClientDriver.AfXdp;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var opts = options.AfXdp ?? throw new QapiException("Parameter 'ifname' is missing");
        var ifindex = Libc.IfNameToIndex(opts.Ifname);
        if (ifindex == 0)
        {
            throw ErrnoText.Last($"failed to get ifindex for '{opts.Ifname}'");
        }

        var queues = opts.Queues ?? 1;
        if (queues < 1)
        {
            throw new QapiException($"invalid number of queues ({queues}) for '{opts.Ifname}'");
        }

        var inhibit = opts.Inhibit == true;
        if (inhibit != (opts.SockFds is not null))
        {
            throw new QapiException("'inhibit=on' requires 'sock-fds' and vice versa");
        }

        var fds = opts.SockFds is null ? null : ParseSocketFds(opts.SockFds, queues, context.MonitorFds);
        var startQueue = opts.StartQueue is > 0 ? opts.StartQueue.Value : 0;
        var sockets = new List<XdpSocket>();
        XdpRedirectProgram? program = null;
        uint xdpFlags = 0;
        try
        {
            // Every queue's socket is bound before the program and its XSKMAP are made: a bind
            // proves its queue id below the interface's real receive queues, so the map sized
            // by the queue ids asked for is bounded by the interface. Sized before the binds, a
            // QMP client's queues=2147483647 had the kernel fill a 16 GiB map (half a minute of
            // the machine's memory going, the registry held meanwhile) before the second bind failed.
            for (var i = 0; i < queues; i++)
            {
                var socket = XdpSocket.CreateUmem(fds is null ? -1 : fds[i], out var errno);
                if (fds is not null)
                {
                    fds[i] = -1; // the socket (or its failure) closed it
                }

                if (socket is null)
                {
                    throw ErrnoText.Error($"failed to create umem for {opts.Ifname} queue_index: {i}", errno);
                }

                sockets.Add(socket);
                errno = socket.Bind(ifindex, (uint)(i + startQueue), opts.ForceCopy == true);
                if (errno != 0)
                {
                    throw SocketError(opts.Ifname, i + startQueue, errno);
                }
            }

            if (!inhibit)
            {
                for (var i = 0; i < sockets.Count; i++)
                {
                    var errno = 0;
                    program ??= AttachProgram(ifindex, opts.Mode, (uint)Math.Max(MinimumMapEntries, startQueue + queues), out errno);
                    if (program is not null)
                    {
                        errno = program.AddSocket((uint)(i + startQueue), sockets[i].Fd);
                    }

                    if (errno != 0)
                    {
                        throw SocketError(opts.Ifname, i + startQueue, errno);
                    }
                }
            }

            // As QEMU keeps cfg.xdp_flags: with inhibit, the mode asked for (native when none was).
            xdpFlags = program?.Flags ?? (Xdp.XDP_FLAGS_UPDATE_IF_NOEXIST | (opts.Mode == AFXDPMode.Skb ? Xdp.XDP_FLAGS_SKB_MODE : Xdp.XDP_FLAGS_DRV_MODE));

            var rc = LibBpf.XdpQueryId((int)ifindex, xdpFlags, out var programId);
            if (rc < 0 || programId == 0)
            {
                var text = $"no XDP program loaded on '{opts.Ifname}', ifindex: {ifindex}";
                throw rc < 0 ? ErrnoText.Error(text, -rc) : new QapiException(text);
            }

            var client = new AfXdpNetClient(options.Id, opts.Ifname, sockets, program, _pool);
            return ValueTask.FromResult<NetClient>(client);
        }
        catch
        {
            foreach (var s in sockets)
            {
                s.Dispose();
            }

            program?.Dispose();
            if (fds is not null)
            {
                foreach (var fd in fds)
                {
                    if (fd >= 0)
                    {
                        Descriptors.CloseQuietly(fd);
                    }
                }
            }

            throw;
        }
    }

    private static QapiException SocketError(string ifname, long queueId, int errno) =>
        ErrnoText.Error($"failed to create AF_XDP socket for {ifname} queue_id: {queueId}", errno);

    /// <summary>The program in the mode asked for; without one, native first and then skb, as QEMU tries.</summary>
    private static XdpRedirectProgram? AttachProgram(uint ifindex, AFXDPMode? mode, uint mapEntries, out int errno)
    {
        const uint NoExist = Xdp.XDP_FLAGS_UPDATE_IF_NOEXIST;
        if (mode is not null)
        {
            var flags = NoExist | (mode == AFXDPMode.Native ? Xdp.XDP_FLAGS_DRV_MODE : Xdp.XDP_FLAGS_SKB_MODE);
            return XdpRedirectProgram.TryAttach((int)ifindex, flags, mapEntries, out errno);
        }

        var native = XdpRedirectProgram.TryAttach((int)ifindex, NoExist | Xdp.XDP_FLAGS_DRV_MODE, mapEntries, out errno);
        return native ?? XdpRedirectProgram.TryAttach((int)ifindex, NoExist | Xdp.XDP_FLAGS_SKB_MODE, mapEntries, out errno);
    }

    /// <summary>QEMU's parse_socket_fds: a colon list with one descriptor per queue, each as monitor_fd_param takes it.</summary>
    private static int[] ParseSocketFds(string list, long expected, IMonitorFdStore? monitor)
    {
        // g_strsplit("", ":") has no element at all.
        var parts = list.Length == 0 ? [] : list.Split(':');
        if (parts.Length != expected)
        {
            throw new QapiException($"expected {expected} socket fds, got {parts.Length}");
        }

        var fds = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            try
            {
                fds[i] = MonitorFdParam.Take(monitor, parts[i]);
            }
            catch
            {
                // QEMU leaks the ones already taken; netdevd closes them with the failed netdev.
                for (var j = 0; j < i; j++)
                {
                    Descriptors.CloseQuietly(fds[j]);
                }

                throw;
            }
        }

        return fds;
    }
}
