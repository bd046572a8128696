using Netdevd.Wire;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.VhostUser.Protocol;

namespace Netdevd.Backends.VhostUser;

/// <summary>The requests: each returns null when done, or why it was refused.</summary>
internal sealed partial class VhostUserSession
{
    /// <summary>Handles one message; descriptors a handler keeps are taken out of <paramref name="fds"/>.</summary>
    private string? Handle(scoped VhostUserMessage message, List<SafeFileHandle> fds)
    {
        if (message.Header.IsReply)
        {
            return "a reply where a request was expected";
        }

        var payload = message.Payload;
        var request = message.Request;
        if (fds.Count > 0 && request is not (VhostUserRequest.SetMemTable or VhostUserRequest.SetVringKick
            or VhostUserRequest.SetVringCall or VhostUserRequest.SetVringErr))
        {
            return $"{fds.Count} unexpected descriptors";
        }

        switch (request)
        {
            case VhostUserRequest.GetFeatures:
                return ReplyU64(request, payload, _offered);
            case VhostUserRequest.SetFeatures:
                return SetFeatures(payload);
            case VhostUserRequest.GetProtocolFeatures:
                return ReplyU64(request, payload, VhostUserBackendFeatures.ProtocolOffered);
            case VhostUserRequest.SetProtocolFeatures:
                return SetProtocolFeatures(payload);
            case VhostUserRequest.GetQueueNum:
                return ProtocolFeature(VhostUserProtocolFeatures.Mq) ?? ReplyU64(request, payload, (ulong)_pairs.Length);
            case VhostUserRequest.SetOwner:
                return payload.IsEmpty || payload.Length == 8 ? null : "bad payload size";
            case VhostUserRequest.ResetOwner:
            case VhostUserRequest.ResetDevice:
                return ResetRings();
            case VhostUserRequest.SetMemTable:
                return SetMemTable(payload, fds);
            case VhostUserRequest.SetVringNum:
                return SetVringNum(payload);
            case VhostUserRequest.SetVringAddr:
                return SetVringAddr(payload);
            case VhostUserRequest.SetVringBase:
                return SetVringBase(payload);
            case VhostUserRequest.GetVringBase:
                return GetVringBase(payload);
            case VhostUserRequest.SetVringKick:
                return SetVringKick(payload, fds);
            case VhostUserRequest.SetVringCall:
                return SetVringCall(payload, fds);
            case VhostUserRequest.SetVringErr:
                return VringFile.TryRead(payload, out var err) && err.Index < _vrings.Length ? null : "bad vring index or payload";
            case VhostUserRequest.SetVringEnable:
                return ProtocolFeaturesNegotiated() ?? SetVringEnable(payload);
            case VhostUserRequest.SendRarp:
                return ProtocolFeature(VhostUserProtocolFeatures.Rarp) ?? SendRarp(payload);
            default:
                return "request not offered";
        }
    }

    private string? ReplyU64(VhostUserRequest request, ReadOnlySpan<byte> payload, ulong value)
    {
        // QEMU sends the GET requests with no payload; some front-ends send a u64 of zero.
        if (!payload.IsEmpty && payload.Length != VhostUserU64.Size)
        {
            return "bad payload size";
        }

        Span<byte> reply = stackalloc byte[VhostUserU64.Size];
        VhostUserU64.Write(reply, value);
        _channel.Reply(request, reply);
        return null;
    }

    private string? SetFeatures(ReadOnlySpan<byte> payload)
    {
        if (!VhostUserU64.TryRead(payload, out var features))
        {
            return "bad payload size";
        }

        if ((features & ~_offered) != 0)
        {
            return $"features 0x{features & ~_offered:x} were not offered";
        }

        _features = features;
        _mergeable = Has(VirtioFeatures.NetMrgRxbuf);
        _headerLength = Has(VirtioFeatures.Version1) || _mergeable ? NetClientHeader : VirtioNetHeader.BaseSize;
        LogFeatures(_logger, Client.Name, features, Has(VirtioFeatures.RingPacked) ? "packed" : "split");
        return null;
    }

    private string? SetProtocolFeatures(ReadOnlySpan<byte> payload)
    {
        if (!VhostUserU64.TryRead(payload, out var features))
        {
            return "bad payload size";
        }

        if ((features & ~VhostUserBackendFeatures.ProtocolOffered) != 0)
        {
            return $"protocol features 0x{features & ~VhostUserBackendFeatures.ProtocolOffered:x} were not offered";
        }

        _protocolFeatures = features;
        _protocolFeaturesNegotiated = true;
        return null;
    }

    private string? ProtocolFeaturesNegotiated() =>
        Has(VirtioFeatures.VhostUserProtocolFeatures) || _protocolFeaturesNegotiated ? null : "protocol features were not negotiated";

    private string? ProtocolFeature(int bit) =>
        _protocolFeaturesNegotiated && (_protocolFeatures & VhostUserProtocolFeatures.Bit(bit)) != 0 ? null : "protocol feature not negotiated";

    private string? ResetRings()
    {
        foreach (var vring in _vrings)
        {
            _pairs[vring.Index / 2].Watch(vring, -1);
        }

        return WithAllGates(static (session, _) =>
        {
            foreach (var vring in session._vrings)
            {
                vring.Reset();
            }

            session._features = 0;
            return null;
        }, 0);
    }

    private string? SetMemTable(ReadOnlySpan<byte> payload, List<SafeFileHandle> fds)
    {
        if (!MemoryTablePayload.TryRead(payload, out var table))
        {
            return "bad memory table";
        }

        var memory = GuestMemory.TryMap(table, fds, out var error);
        if (memory is null)
        {
            return error;
        }

        // Rings that run keep running over the new table, from where they are.
        var old = _memory;
        var failure = WithAllGates(static (session, memory) =>
        {
            foreach (var vring in session._vrings)
            {
                if (vring.Queue is { } running)
                {
                    vring.Base = running.Base;
                }

                vring.Queue = null;
            }

            session._memory = memory;
            foreach (var vring in session._vrings)
            {
                if (vring.Started && session.TryStart(vring) is { } error)
                {
                    return error;
                }
            }

            return null;
        }, memory);
        old?.Dispose();
        return failure;
    }

    private string? SetVringNum(ReadOnlySpan<byte> payload)
    {
        if (!VringState.TryRead(payload, out var state) || state.Index >= _vrings.Length)
        {
            return "bad vring index or payload";
        }

        if (Has(VirtioFeatures.RingPacked))
        {
            if (!PackedRingLayout.IsValidSize(state.Num))
            {
                return $"ring size {state.Num} is not from 1 to {PackedRingLayout.MaxSize}";
            }
        }
        else if (!SplitRingLayout.IsValidSize(state.Num))
        {
            return $"ring size {state.Num} is not a power of two from 1 to {SplitRingLayout.MaxSize}";
        }

        var vring = _vrings[state.Index];
        lock (vring.Gate)
        {
            vring.Size = state.Num;
        }

        return null;
    }

    private string? SetVringAddr(ReadOnlySpan<byte> payload)
    {
        if (!VringAddress.TryRead(payload, out var address) || address.Index >= _vrings.Length)
        {
            return "bad vring index or payload";
        }

        if ((address.Flags & VringAddress.FlagLog) != 0)
        {
            return "dirty logging was not offered";
        }

        var vring = _vrings[address.Index];
        lock (vring.Gate)
        {
            if (vring.Queue is { } running)
            {
                vring.Base = running.Base;
                vring.Queue = null;
            }

            vring.Address = address;
            return vring.Started ? TryStart(vring) : null;
        }
    }

    private string? SetVringBase(ReadOnlySpan<byte> payload)
    {
        // A packed ring's base is 32 bits in QEMU (the avail slot and wrap counter, then the used
        // ones): the device resumes with both where taking stopped, so the low half is the base.
        var packed = Has(VirtioFeatures.RingPacked);
        if (!VringState.TryRead(payload, out var state) || state.Index >= _vrings.Length || (!packed && state.Num > ushort.MaxValue))
        {
            return "bad vring index or payload";
        }

        var vring = _vrings[state.Index];
        lock (vring.Gate)
        {
            vring.Base = (ushort)state.Num;
        }

        return null;
    }

    private string? GetVringBase(ReadOnlySpan<byte> payload)
    {
        if (!VringState.TryRead(payload, out var state) || state.Index >= _vrings.Length)
        {
            return "bad vring index or payload";
        }

        // Stop the ring: no worker touches it after this, and its kick is no longer watched.
        var vring = _vrings[state.Index];
        _pairs[state.Index / 2].Watch(vring, -1);
        ushort next;
        lock (vring.Gate)
        {
            if (vring.Queue is { } running)
            {
                vring.Base = running.Base;
            }

            next = vring.Base;
            vring.Queue = null;
            vring.Started = false;
            vring.ReplaceKick(null);
            vring.ReplaceCall(null);
        }

        // Packed: the used slot and wrap counter, in the high half as QEMU reads them, are where
        // taking stopped (every chain taken was used).
        var num = Has(VirtioFeatures.RingPacked) ? next | ((uint)next << 16) : next;
        Span<byte> reply = stackalloc byte[VringState.Size];
        new VringState(state.Index, num).Write(reply);
        _channel.Reply(VhostUserRequest.GetVringBase, reply);
        return null;
    }

    private string? SetVringKick(ReadOnlySpan<byte> payload, List<SafeFileHandle> fds)
    {
        if (!TakeVringFile(payload, fds, out var file, out var fd, out var error))
        {
            return error;
        }

        if (fd is null)
        {
            return "polling without a kick descriptor was not offered";
        }

        var vring = _vrings[file.Index];
        string? failure;

        // The old kick leaves its loop before it is closed: the I/O thread never re-arms a
        // descriptor by a number that may already name another file.
        _pairs[file.Index / 2].Watch(vring, -1);
        lock (vring.Gate)
        {
            vring.ReplaceKick(fd);
            vring.Started = true;
            if (!_protocolFeaturesNegotiated)
            {
                // Without protocol features a ring is enabled as soon as it starts.
                vring.Enabled = true;
            }

            failure = TryStart(vring);
        }

        _pairs[file.Index / 2].Watch(vring, (int)fd.DangerousGetHandle());
        return failure;
    }

    private string? SetVringCall(ReadOnlySpan<byte> payload, List<SafeFileHandle> fds)
    {
        if (!TakeVringFile(payload, fds, out var file, out var fd, out var error))
        {
            return error;
        }

        var vring = _vrings[file.Index];
        lock (vring.Gate)
        {
            vring.ReplaceCall(fd);
        }

        return null;
    }

    private string? SetVringEnable(ReadOnlySpan<byte> payload)
    {
        if (!VringState.TryRead(payload, out var state) || state.Index >= _vrings.Length || state.Num > 1)
        {
            return "bad vring index or payload";
        }

        var vring = _vrings[state.Index];
        lock (vring.Gate)
        {
            vring.Enabled = state.Num == 1;
        }

        if (state.Num == 1)
        {
            var pair = _pairs[state.Index / 2];
            if (vring.IsReceive)
            {
                pair.Post(Client.FlushReceived);
            }
            else
            {
                pair.ResumeTransmit();
            }
        }

        return null;
    }

    private string? SendRarp(ReadOnlySpan<byte> payload)
    {
        if (payload.Length != VhostUserU64.Size)
        {
            return "bad payload size";
        }

        var mac = payload[..6].ToArray();
        _pairs[0].Post(() => Client.Announce(mac));
        return null;
    }

    /// <summary>Takes the u64 of a KICK/CALL message and its descriptor (one, unless the no-descriptor bit is set).</summary>
    private bool TakeVringFile(ReadOnlySpan<byte> payload, List<SafeFileHandle> fds, out VringFile file, out SafeFileHandle? fd, out string? error)
    {
        fd = null;
        if (!VringFile.TryRead(payload, out file) || file.Index >= _vrings.Length)
        {
            error = "bad vring index or payload";
            return false;
        }

        if (fds.Count != (file.NoDescriptor ? 0 : 1))
        {
            error = $"{fds.Count} descriptors where {(file.NoDescriptor ? 0 : 1)} belong";
            return false;
        }

        if (!file.NoDescriptor)
        {
            fd = fds[0];
            fds.Clear();
        }

        error = null;
        return true;
    }

    /// <summary>Under the vring's gate: makes the ring run when everything it needs is there.</summary>
    private string? TryStart(VhostUserVring vring)
    {
        var memory = _memory;
        if (memory is null || vring.Address is not { } address || vring.Size == 0)
        {
            // Not yet: the missing piece (QEMU sends them all before the kick) starts it.
            return null;
        }

        var queue = Virtqueue.TryCreate(memory, address, vring.Size, vring.Base, Has(VirtioFeatures.RingEventIdx), Has(VirtioFeatures.RingPacked), out var error);
        if (queue is null)
        {
            return $"vring {vring.Index}: {error}";
        }

        vring.Queue = queue;
        if (vring.IsReceive)
        {
            // Receive buffers need no kicks until a frame finds none.
            queue.SetKickWanted(false);
        }

        return null;
    }
}
