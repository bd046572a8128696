using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Fuzz.Support;
using Netdevd.Native;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// The vhost-user front-end's side of a split ring (<see cref="SplitDriverRing"/>) against a
/// hostile back-end, which writes the used ring and its notification fields at will. Byte 0
/// picks the ring size (a power of two, 1..256: bits 0-3 as the back-end harness) and EVENT_IDX
/// (bit 4); then operations, one byte each with its arguments:
/// 0 ID: the driver offers descriptor ID (mod size) if the device does not hold it, and publishes;
/// 1 SLOT ID32 LEN32: the device writes used element SLOT (mod size);
/// 2 IDX16: the device sets used.idx;
/// 3 EVENT16: the device sets avail_event (EVENT_IDX) or used.flags;
/// 4: the driver takes used entries until none is left (at most 4 * size);
/// 5: the driver enables notifications, 6: disables them.
/// The driver's own bookkeeping is mirrored: every descriptor a take returns must be one the
/// device holds (offered, not returned since); a take may refuse an entry only with
/// <see cref="InvalidDataException"/>, after which the front-end drops the connection (the
/// input ends there). Anything else that escapes, or a descriptor handed back that the device
/// did not hold, is a finding.
/// </summary>
public static class VhostUserDriverRingHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 1)
        {
            return;
        }

        var size = (int)(1u << ((input[0] & 0x7) + ((input[0] >> 3) & 1)));
        var eventIndex = (input[0] & 0x10) != 0;
        var bytes = SplitDriverRing.Bytes(size);
        using var fd = new SafeFileHandle(Libc.MemfdCreate("fuzz-driver-ring", Libc.MFD_CLOEXEC), ownsHandle: true);
        if (fd.IsInvalid || Libc.Ftruncate((int)fd.DangerousGetHandle(), bytes) != 0)
        {
            throw new InvalidOperationException($"memfd: {Errno.Message(Errno.Last)}");
        }

        using var memory = SharedMapping.TryMap(fd, bytes, out _) ?? throw new InvalidOperationException("mmap");
        var ring = new SplitDriverRing(memory, 0, size, eventIndex);
        var used = memory.Span(ring.UsedOffset, (int)(bytes - ring.UsedOffset));
        var held = new bool[size];
        var rest = input[1..];
        while (rest.Length > 0)
        {
            var op = rest[0] % 7;
            rest = rest[1..];
            switch (op)
            {
                case 0 when rest.Length >= 1:
                    var id = rest[0] % size;
                    rest = rest[1..];
                    if (!held[id])
                    {
                        held[id] = true;
                        ring.WriteDescriptor(id, 0x1000, 64, 0);
                        ring.Offer(id);
                        _ = ring.Publish();
                    }

                    break;
                case 1 when rest.Length >= 9:
                    var slot = rest[0] % size;
                    rest[1..9].CopyTo(used[(4 + (8 * slot))..]);
                    rest = rest[9..];
                    break;
                case 2 when rest.Length >= 2:
                    rest[..2].CopyTo(used[2..]);
                    rest = rest[2..];
                    break;
                case 3 when rest.Length >= 2:
                    rest[..2].CopyTo(eventIndex ? used[(4 + (8 * size))..] : used);
                    rest = rest[2..];
                    break;
                case 4:
                    for (var taken = 0; taken < 4 * size; taken++)
                    {
                        int got;
                        try
                        {
                            if (!ring.TryTakeUsed(out got, out _))
                            {
                                break;
                            }
                        }
                        catch (InvalidDataException)
                        {
                            return; // The front-end cuts the connection here.
                        }

                        if (!held[got])
                        {
                            throw new FuzzFindingException($"the ring handed back descriptor {got}, which the device did not hold");
                        }

                        held[got] = false;
                    }

                    break;
                case 5:
                    _ = ring.EnableNotifications();
                    break;
                case 6:
                    ring.DisableNotifications();
                    break;
                default:
                    return; // An operation cut short by the end of the input.
            }
        }
    }
}
