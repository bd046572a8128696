using System.Buffers.Binary;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.VhostVdpa;

/// <summary>
/// <c>-netdev vhost-vdpa,id=ID,vhostdev=PATH|vhostfd=FD[,queues=N][,x-svq=on]</c> (QEMU's
/// net_init_vhost_vdpa). A Linux QEMU always has this backend, so netdevd answers with its checks
/// and texts in its order: the options, opening the device, its features, its queue pairs, its
/// IOVA range, the shadow-virtqueue feature check. Driving a real device's virtqueues is not done
/// yet (no vDPA device on the machines this is built on): a device that passes every check is
/// refused with a text of netdevd's own.
/// </summary>
public sealed class VhostVdpaNetdevFactory : INetdevFactory
{
    /// <summary>The feature bits QEMU's shadow virtqueue can handle (vdpa_svq_device_features plus the transport's).</summary>
    private const ulong ShadowQueueFeatures =
        (1UL << 0) | (1UL << 1) | (1UL << 5) | (1UL << 16) | (1UL << 17) | (1UL << 18) | (1UL << 19) |
        (1UL << 20) | (1UL << 21) | (1UL << 22) | (1UL << 23) | (1UL << 28) | (1UL << 29) | (1UL << 32) |
        (1UL << 33) | (1UL << 35) | (1UL << 37) | (1UL << 61);

    public NetClientDriver Driver => NetClientDriver.VhostVdpa;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var opts = options.VhostVdpa ?? new NetdevVhostVDPAOptions();
        if (opts.Vhostdev is null && opts.Vhostfd is null)
        {
            throw new QapiException("vhost-vdpa: neither vhostdev= nor vhostfd= was specified");
        }

        if (opts.Vhostdev is not null && opts.Vhostfd is not null)
        {
            throw new QapiException("vhost-vdpa: vhostdev= and vhostfd= are mutually exclusive");
        }

        int fd;
        if (opts.Vhostdev is not null)
        {
            fd = Libc.Open(opts.Vhostdev, Libc.O_RDWR | Libc.O_CLOEXEC);
            if (fd < 0)
            {
                throw ErrnoText.Last($"Could not open '{opts.Vhostdev}'");
            }
        }
        else
        {
            try
            {
                fd = MonitorFdParam.Take(context.MonitorFds, opts.Vhostfd!);
            }
            catch (QapiException e)
            {
                throw new QapiException("vhost-vdpa: unable to parse vhostfd: " + e.Message);
            }
        }

        try
        {
            Probe(fd, opts.XSvq == true);
            throw new QapiException("vhost-vdpa: this build of netdevd cannot drive a vDPA device's virtqueues yet");
        }
        finally
        {
            Descriptors.CloseQuietly(fd);
        }
    }

    /// <summary>QEMU's questions to the device, in its order; each failure with its text.</summary>
    private static void Probe(int fd, bool shadowQueues)
    {
        Span<byte> features = stackalloc byte[8];
        if (Libc.IoctlBuffer(fd, VhostVdpaIoctl.GetFeatures, features) < 0)
        {
            throw ErrnoText.Last("Fail to query features from vhost-vDPA device");
        }

        var bits = BinaryPrimitives.ReadUInt64LittleEndian(features);
        if ((bits & (1UL << VhostVdpaIoctl.NetFeatureMultiQueue)) != 0)
        {
            // struct vhost_vdpa_config { __u32 off; __u32 len; __u8 buf[]; } asking for the 16-bit pair count.
            Span<byte> config = stackalloc byte[8 + 2];
            BinaryPrimitives.WriteUInt32LittleEndian(config, VhostVdpaIoctl.MaxQueuePairsOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(config[4..], 2);
            if (Libc.IoctlBuffer(fd, VhostVdpaIoctl.GetConfig, config) != 0)
            {
                throw new QapiException("Fail to get config from vhost-vDPA device");
            }
        }

        Span<byte> range = stackalloc byte[16];
        if (Libc.IoctlBuffer(fd, VhostVdpaIoctl.GetIovaRange, range) < 0)
        {
            throw ErrnoText.Last("vhost-vdpa: get iova range failed");
        }

        var unsupported = bits & ~ShadowQueueFeatures;
        if (shadowQueues && unsupported != 0)
        {
            throw new QapiException($"vdpa svq does not work with features 0x{unsupported:x}");
        }
    }
}
