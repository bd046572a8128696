using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Native;

namespace Netdevd.Backends.VhostUser;

/// <summary>
/// One vring of a session as the front-end configured it (size, addresses, base, kick and call
/// descriptors, enabled) and, while it runs, its <see cref="Virtqueue"/> (split or packed). Every field is
/// read and written under <see cref="Gate"/>: the control thread changes them, the queue pair's
/// worker (TX) or the delivering thread (RX) uses them.
/// </summary>
internal sealed class VhostUserVring : IDisposable
{
    public VhostUserVring(int index) => Index = index;

    /// <summary>The vring number: even is a receive queue (the guest's RX), odd a transmit queue.</summary>
    public int Index { get; }

    public bool IsReceive => Index % 2 == 0;

    public Lock Gate { get; } = new();

    public uint Size { get; set; }

    public VringAddress? Address { get; set; }

    /// <summary>SET_VRING_BASE: where the device resumes taking available entries (packed: slot and wrap counter in bit 15).</summary>
    public ushort Base { get; set; }

    public SafeFileHandle? Kick { get; private set; }

    public SafeFileHandle? Call { get; private set; }

    public bool Enabled { get; set; }

    /// <summary>A kick descriptor arrived and no GET_VRING_BASE stopped the ring since.</summary>
    public bool Started { get; set; }

    /// <summary>The running ring, or null while stopped or not yet translatable.</summary>
    public Virtqueue? Queue { get; set; }

    /// <summary>Whether frames may move: running and enabled.</summary>
    public bool IsLive => Queue is not null && Enabled;

    public void ReplaceKick(SafeFileHandle? fd)
    {
        Kick?.Dispose();
        Kick = fd;
    }

    public void ReplaceCall(SafeFileHandle? fd)
    {
        Call?.Dispose();
        Call = fd;
    }

    /// <summary>Interrupts the guest for this queue (the call eventfd), when it has one.</summary>
    public void Signal()
    {
        var call = Call;
        if (call is null || call.IsClosed)
        {
            return;
        }

        Span<byte> one = stackalloc byte[8];
        one[0] = 1;
        var added = false;
        try
        {
            call.DangerousAddRef(ref added);
            _ = Libc.Write((int)call.DangerousGetHandle(), one);
        }
        finally
        {
            if (added)
            {
                call.DangerousRelease();
            }
        }
    }

    /// <summary>Stops the ring and forgets its set-up (a session's end, RESET_OWNER).</summary>
    public void Reset()
    {
        Queue = null;
        Started = false;
        Enabled = false;
        Address = null;
        Size = 0;
        Base = 0;
        ReplaceKick(null);
        ReplaceCall(null);
    }

    public void Dispose() => Reset();
}
