using System.Net;

namespace Netdevd.Tests.Shared;

/// <summary>
/// This process's listening TCP sockets as the kernel lists them: which socket listens on an
/// address and port, and the descriptor that holds it, so that a test can copy it as a child
/// process forked at the wrong moment would (a copy lives until that child's exec).
/// </summary>
internal static class ListeningSockets
{
    /// <summary>This process's descriptor of the TCP socket listening on <paramref name="address"/>:<paramref name="port"/>, once there is one (a stream server listens once its loop has taken the socket).</summary>
    public static int Descriptor(IPAddress address, int port)
    {
        for (var i = 0; i < 200; i++)
        {
            if (Inodes(address, port) is [var inode])
            {
                return DescriptorOf(inode);
            }

            Thread.Sleep(10);
        }

        throw new InvalidOperationException($"nothing listens on {address}:{port}");
    }

    /// <summary>The inodes of the TCP sockets listening on <paramref name="address"/>:<paramref name="port"/> (/proc/net/tcp, whose addresses are the 32-bit word in host order).</summary>
    public static List<string> Inodes(IPAddress address, int port)
    {
        var local = $"{BitConverter.ToUInt32(address.GetAddressBytes()):X8}:{port:X4}";
        return [.. File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f[1] == local && f[3] == "0A")
            .Select(f => f[9])];
    }

    /// <summary>This process's descriptor of the socket with <paramref name="inode"/>.</summary>
    private static int DescriptorOf(string inode)
    {
        foreach (var link in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(link).LinkTarget == $"socket:[{inode}]")
                {
                    return int.Parse(Path.GetFileName(link), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
                // A descriptor closed while listed.
            }
        }

        throw new InvalidOperationException($"no descriptor for socket inode {inode}");
    }
}
