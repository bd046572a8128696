using System.Globalization;
using System.Text;

namespace Netdevd.Interop.Tests.Guest;

/// <summary>
/// Writes a cpio archive in the "newc" format (magic 070701), the one format the kernel's
/// initramfs unpacker reads. Written here so the test needs no cpio tool; the caller gzips.
/// Every entry gets uid/gid 0: the guest's init runs as root over these files.
/// </summary>
internal sealed class CpioNewcWriter
{
    private const int S_IFDIR = 0x4000;
    private const int S_IFREG = 0x8000;
    private const int S_IFLNK = 0xA000;
    private const int S_IFCHR = 0x2000;
    private readonly System.IO.Stream _output;
    private int _inode = 1;

    public CpioNewcWriter(System.IO.Stream output) => _output = output;

    public void Directory(string path) => Entry(path, S_IFDIR | 0x1ED /* 0755 */, nlink: 2, [], 0, 0);

    public void File(string path, ReadOnlySpan<byte> data, bool executable) =>
        Entry(path, S_IFREG | (executable ? 0x1ED : 0x1A4 /* 0644 */), nlink: 1, data, 0, 0);

    public void Symlink(string path, string target) => Entry(path, S_IFLNK | 0x1FF, nlink: 1, Encoding.UTF8.GetBytes(target), 0, 0);

    /// <summary>A character device node; the kernel creates it while unpacking, so no root is needed here.</summary>
    public void CharDevice(string path, int major, int minor) => Entry(path, S_IFCHR | 0x180 /* 0600 */, nlink: 1, [], major, minor);

    /// <summary>The end marker; the archive is complete after this.</summary>
    public void Trailer() => Entry("TRAILER!!!", 0, nlink: 1, [], 0, 0, inode: 0);

    private void Entry(string path, int mode, int nlink, ReadOnlySpan<byte> data, int rdevMajor, int rdevMinor, int? inode = null)
    {
        var name = Encoding.UTF8.GetBytes(path + "\0");
        var header = new StringBuilder("070701");
        foreach (var field in new[] { inode ?? _inode++, mode, 0, 0, nlink, 0, data.Length, 0, 0, rdevMajor, rdevMinor, name.Length, 0 })
        {
            header.Append(field.ToString("X8", CultureInfo.InvariantCulture));
        }

        _output.Write(Encoding.ASCII.GetBytes(header.ToString()));
        _output.Write(name);
        Pad(110 + name.Length); // header plus name end on a 4-byte boundary
        _output.Write(data);
        Pad(data.Length);
    }

    private void Pad(int length)
    {
        Span<byte> zeros = stackalloc byte[3];
        zeros.Clear();
        _output.Write(zeros[..((4 - (length % 4)) % 4)]);
    }
}
