using System.Reflection;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qmp.Server;

/// <summary>
/// What netdevd says about its version in the QMP greeting and <c>query-version</c>: the QEMU
/// version whose behaviour it reproduces (9.1.0, so tools that check it keep working) and,
/// as the package string, netdevd's own version.
/// </summary>
public static class QmpVersion
{
    public const int QemuMajor = 9;
    public const int QemuMinor = 1;
    public const int QemuMicro = 0;

    /// <summary><c>netdevd VERSION</c>, from the assembly's informational version.</summary>
    public static string Package { get; } = "netdevd " + ProductVersion();

    public static VersionInfo Create() => new()
    {
        Qemu = new VersionTriple { Major = QemuMajor, Minor = QemuMinor, Micro = QemuMicro },
        Package = Package,
    };

    private static string ProductVersion()
    {
        var assembly = typeof(QmpVersion).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        return informational ?? assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    }
}
