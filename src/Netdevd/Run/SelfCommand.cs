namespace Netdevd.Run;

/// <summary>How to start this same netdevd again: the apphost, or the dotnet host with our assembly.</summary>
internal static class SelfCommand
{
    public static IReadOnlyList<string> Get()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which program is running");
        if (string.Equals(Path.GetFileNameWithoutExtension(process), "dotnet", StringComparison.Ordinal))
        {
            // Started as "dotnet netdevd.dll" (development): the host needs our assembly again.
            var assembly = Path.Combine(AppContext.BaseDirectory, AppDomain.CurrentDomain.FriendlyName + ".dll");
            if (File.Exists(assembly))
            {
                return [process, assembly];
            }
        }

        return [process];
    }
}
