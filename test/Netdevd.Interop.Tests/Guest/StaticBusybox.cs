using System.Buffers.Binary;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.Guest;

/// <summary>
/// busybox from Debian's busybox-static: the guest's initramfs has no C library, so a
/// dynamically linked busybox (package busybox) cannot run there.
/// </summary>
internal static class StaticBusybox
{
    private const uint PT_INTERP = 3;

    /// <summary>The path of a statically linked busybox, or skips the test saying what to install.</summary>
    public static string Require()
    {
        var path = HostTools.Require("busybox", "busybox-static");
        Assert.SkipUnless(IsStatic(File.ReadAllBytes(path)), $"{path} is dynamically linked; the guest needs Debian's busybox-static (./test.sh installs it as root)");
        return path;
    }

    /// <summary>An ELF64 executable is static when no program header asks for an interpreter (ld.so).</summary>
    private static bool IsStatic(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 64 || !elf[..4].SequenceEqual((ReadOnlySpan<byte>)[0x7f, (byte)'E', (byte)'L', (byte)'F']) || elf[4] != 2 /* ELFCLASS64 */)
        {
            return false;
        }

        var phoff = (int)BinaryPrimitives.ReadUInt64LittleEndian(elf[0x20..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x36..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x38..]);
        for (var i = 0; i < phnum; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(elf[(phoff + (i * phentsize))..]) == PT_INTERP)
            {
                return false;
            }
        }

        return true;
    }
}
