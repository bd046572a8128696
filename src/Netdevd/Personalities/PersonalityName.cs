namespace Netdevd.Personalities;

/// <summary>
/// Which program netdevd was started as. Tools such as libvirt, podman and rootlesskit start
/// <c>passt</c>, <c>pasta</c> or <c>slirp4netns</c> by name; a symlink of that name to netdevd
/// (or <c>netdevd NAME ...</c>) makes netdevd take that program's command line.
/// </summary>
internal static class PersonalityName
{
    public const string Slirp4netns = "slirp4netns";
    public const string Passt = "passt";
    public const string Pasta = "pasta";

    private static readonly string[] Known = [Slirp4netns, Passt, Pasta];

    /// <summary>
    /// The personality and its arguments, or null for netdevd's own command line. argv[0] comes
    /// from /proc/self/cmdline: .NET's argument list starts after it.
    /// </summary>
    public static string? Detect(string[] args, out string[] personalityArgs)
    {
        var invokedAs = Path.GetFileName(ReadArgv0());
        foreach (var name in Known)
        {
            if (string.Equals(invokedAs, name, StringComparison.Ordinal))
            {
                personalityArgs = args;
                return name;
            }
        }

        if (args.Length > 0 && Array.IndexOf(Known, args[0]) >= 0)
        {
            personalityArgs = args[1..];
            return args[0];
        }

        personalityArgs = args;
        return null;
    }

    private static string ReadArgv0()
    {
        try
        {
            var cmdline = File.ReadAllBytes("/proc/self/cmdline");
            var end = Array.IndexOf(cmdline, (byte)0);
            return System.Text.Encoding.UTF8.GetString(cmdline, 0, end < 0 ? cmdline.Length : end);
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }
}
