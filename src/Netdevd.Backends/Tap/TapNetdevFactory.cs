using Netdevd.Backends.Bridge;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Tap;

/// <summary>
/// <c>-netdev tap,id=ID,...</c> (QEMU's net_init_tap): the mode checks in QEMU's order, then one of
/// fd=, fds=, helper= or a tap opened here (ifname, queues, vnet_hdr, script/downscript).
/// </summary>
/// <remarks>
/// One difference in order: vhost is refused before anything is opened or run (QEMU finds out
/// after the tap exists and its script ran), so that a refused netdev leaves nothing behind.
/// </remarks>
public sealed class TapNetdevFactory : INetdevFactory
{
    /// <summary>QEMU's MAX_TAP_QUEUES.</summary>
    private const int MaxQueues = 1024;

    public NetClientDriver Driver => NetClientDriver.Tap;

    public async ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var tap = options.Tap ?? new NetdevTapOptions();
        var name = options.Id;

        if (tap.Fd is not null)
        {
            if (tap.Ifname is not null || tap.Script is not null || tap.Downscript is not null || tap.VnetHdr is not null
                || tap.Helper is not null || tap.Queues is not null || tap.Fds is not null || tap.Vhostfds is not null)
            {
                throw new QapiException("ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= are invalid with fd=");
            }

            CheckVhost(tap, tap.Vhostfd);
            return FromDescriptors(name, tap, [tap.Fd], context);
        }

        if (tap.Fds is not null)
        {
            if (tap.Ifname is not null || tap.Script is not null || tap.Downscript is not null || tap.VnetHdr is not null
                || tap.Helper is not null || tap.Queues is not null || tap.Vhostfd is not null)
            {
                throw new QapiException("ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and vhostfd= are invalid with fds=");
            }

            var names = SplitFds(tap.Fds);
            if (tap.Vhostfds is not null && SplitFds(tap.Vhostfds).Count != names.Count)
            {
                throw new QapiException("The number of fds passed does not match the number of vhostfds passed");
            }

            CheckVhost(tap, tap.Vhostfds);
            return FromDescriptors(name, tap, names, context);
        }

        if (tap.Helper is not null)
        {
            if (tap.Ifname is not null || tap.Script is not null || tap.Downscript is not null || tap.VnetHdr is not null
                || tap.Queues is not null || tap.Vhostfds is not null)
            {
                throw new QapiException("ifname=, script=, downscript=, vnet_hdr=, queues=, and vhostfds= are invalid with helper=");
            }

            CheckVhost(tap, tap.Vhostfd);
            return await FromHelperAsync(name, tap).ConfigureAwait(false);
        }

        if (tap.Vhostfds is not null)
        {
            throw new QapiException("vhostfds= is invalid if fds= wasn't specified");
        }

        CheckVhost(tap, tap.Vhostfd);
        return await OpenAsync(name, tap).ConfigureAwait(false);
    }

    /// <summary>
    /// vhost-net moves frames between a tap and a guest's memory inside the kernel; a daemon has no
    /// guest memory, so it is refused (QEMU's rule for when vhost is on, then its texts).
    /// </summary>
    private static void CheckVhost(NetdevTapOptions tap, string? vhostfdName)
    {
        var vhost = tap.Vhost ?? (vhostfdName is not null || tap.Vhostforce == true);
        if (vhost)
        {
            throw new QapiException("vhost-net requested but could not be initialized: netdevd has no guest memory for vhost-net to use; use vhost=off (the default), or a vhost-user netdev to reach a guest");
        }

        if (vhostfdName is not null)
        {
            throw new QapiException("vhostfd(s)= is not valid without vhost");
        }
    }

    /// <summary>QEMU's get_fds: colon-separated, an empty string gives none, at most 1024.</summary>
    private static List<string> SplitFds(string text)
    {
        var parts = new List<string>();
        var start = 0;
        while (parts.Count < MaxQueues && start < text.Length)
        {
            var colon = text.IndexOf(':', start);
            if (colon < 0)
            {
                parts.Add(text[start..]);
                break;
            }

            parts.Add(text[start..colon]);
            start = colon + 1;
        }

        return parts;
    }

    private static TapNetClient FromDescriptors(string name, NetdevTapOptions tap, List<string> names, NetdevContext context)
    {
        var fds = new List<int>(names.Count);
        try
        {
            var vnetHeader = false;
            for (var i = 0; i < names.Count; i++)
            {
                var fd = MonitorFdParam.Take(context.MonitorFds, names[i]);
                fds.Add(fd);
                var errno = Descriptors.TrySetNonBlocking(fd);
                if (errno != 0)
                {
                    throw ErrnoText.Error($"{name}: Can't use file descriptor {fd}", errno);
                }

                if (i == 0)
                {
                    vnetHeader = TapDevice.ProbeVnetHeader(fd);
                }
                else if (vnetHeader != ProbeQuietly(fd))
                {
                    throw new QapiException("vnet_hdr not consistent across given tap fds");
                }

                TapDevice.SetSendBuffer(fd, tap.Sndbuf);
            }

            if (names.Count == 0)
            {
                // fds= with nothing in it: QEMU creates no client and reports success; a netdev
                // with no queue cannot exist here, so say what is wrong.
                throw new QapiException("fds= names no file descriptor");
            }

            return new TapNetClient(name, fds, vnetHeader, TapDevice.GetName(fds[0]) ?? "", $"fd={fds[0]}", downscript: null);
        }
        catch
        {
            TapNetClient.CloseAll(fds);
            throw;
        }
    }

    /// <summary>QEMU probes later fds without an error: a failed probe (-1) equals neither answer.</summary>
    private static bool? ProbeQuietly(int fd)
    {
        try
        {
            return TapDevice.ProbeVnetHeader(fd);
        }
        catch (QapiException)
        {
            return null;
        }
    }

    private static async Task<TapNetClient> FromHelperAsync(string name, NetdevTapOptions tap)
    {
        var fd = await BridgeHelper.RunAsync(tap.Helper, tap.Br ?? BridgeHelper.DefaultBridge).ConfigureAwait(false);
        try
        {
            var errno = Descriptors.TrySetNonBlocking(fd);
            if (errno != 0)
            {
                throw ErrnoText.Error("Failed to set FD nonblocking", errno);
            }

            var vnetHeader = TapDevice.ProbeVnetHeader(fd);
            TapDevice.SetSendBuffer(fd, tap.Sndbuf);
            return new TapNetClient(name, [fd], vnetHeader, TapDevice.GetName(fd) ?? "", $"helper={tap.Helper}", downscript: null);
        }
        catch
        {
            Descriptors.CloseQuietly(fd);
            throw;
        }
    }

    private static async Task<TapNetClient> OpenAsync(string name, NetdevTapOptions tap)
    {
        var script = tap.Script ?? NetworkScript.DefaultUp;
        var downscript = tap.Downscript ?? NetworkScript.DefaultDown;
        var queues = tap.Queues ?? 1;
        if (queues == 0)
        {
            // QEMU creates no client and then fails an assertion; refuse instead.
            throw new QapiException("Parameter 'queues' expects a value of at least 1");
        }

        var ifname = tap.Ifname ?? "";
        var vnetHeader = tap.VnetHdr ?? true;
        var required = tap.VnetHdr == true;
        var fds = new List<int>((int)Math.Min(queues, MaxQueues));
        var scriptRan = false;
        try
        {
            for (var i = 0; i < queues; i++)
            {
                fds.Add(TapDevice.Open(ifname, ref vnetHeader, required, queues > 1, out var actual));
                if (i == 0)
                {
                    // Later queues attach to the same interface, whatever the template became.
                    ifname = actual;
                    if (!NetworkScript.IsDisabled(script))
                    {
                        await NetworkScript.RunAsync(script, ifname).ConfigureAwait(false);
                        scriptRan = true;
                    }
                }
            }

            foreach (var fd in fds)
            {
                TapDevice.SetSendBuffer(fd, tap.Sndbuf);
            }

            var info = $"ifname={ifname},script={script},downscript={downscript}";
            return new TapNetClient(name, fds, vnetHeader, ifname, info, downscript);
        }
        catch
        {
            // Undo: as QEMU's cleanup of the half-made client, the down script runs when the up
            // script already did, then the queues close.
            if (scriptRan && !NetworkScript.IsDisabled(downscript))
            {
                try
                {
                    await NetworkScript.RunAsync(downscript, ifname).ConfigureAwait(false);
                }
                catch (QapiException)
                {
                    // The first error is the one to report.
                }
            }

            TapNetClient.CloseAll(fds);
            throw;
        }
    }
}
