using System.Runtime.InteropServices;

namespace Netdevd.Native;

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct IoVector
{
    public void* Base;
    public nuint Length;

    public IoVector(void* pointer, int length)
    {
        Base = pointer;
        Length = (nuint)length;
    }
}
