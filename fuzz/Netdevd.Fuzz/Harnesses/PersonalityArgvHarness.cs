using System.Text;
using Netdevd.Personalities;
using Netdevd.Personalities.Passt;
using Netdevd.Personalities.Pasta;
using Netdevd.Personalities.Slirp4netns;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// The command lines of the personalities, as libvirt, podman or rootlesskit (or anyone who can
/// start the binary) pass them: byte 0 picks passt, pasta or slirp4netns, the rest is argv split
/// at NUL bytes. A bad command line is a usage error; nothing else may come out.
/// </summary>
public static class PersonalityArgvHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var args = Encoding.UTF8.GetString(input[1..]).Split('\0');
        try
        {
            switch (input[0] % 3)
            {
                case 0:
                    _ = PasstCommandLine.Parse(args, out _);
                    break;
                case 1:
                    _ = PastaCommandLine.Parse(args, out _);
                    break;
                default:
                    _ = Slirp4netnsCommandLine.Parse(args, out _);
                    break;
            }
        }
        catch (PersonalityUsageException)
        {
        }
    }
}
