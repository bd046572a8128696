using System.Runtime.InteropServices;

namespace Netdevd.Native;

/// <summary>struct msghdr (x86_64/aarch64 layout).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct MessageHeader
{
    public void* Name;
    public uint NameLength;
    public IoVector* Iov;
    public nuint IovLength;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct mmsghdr: one message of a recvmmsg/sendmmsg batch.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MultiMessageHeader
{
    public MessageHeader Header;
    public uint Length;
}
