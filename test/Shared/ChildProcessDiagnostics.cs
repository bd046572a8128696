using System.Runtime.CompilerServices;

namespace Netdevd.Tests.Shared;

/// <summary>
/// The .NET processes the tests start (the JIT-built daemon, most of all) run without the
/// runtime's diagnostic IPC: each opens a socket and two pipes in /tmp that only a clean exit
/// removes, and the tests end many daemons with SIGKILL, which left thousands of them behind.
/// The variable is set once the test host has started, so its own diagnostics (blame's hang
/// detection) are unchanged; every process it starts afterwards inherits it.
/// </summary>
internal static class ChildProcessDiagnostics
{
    [ModuleInitializer]
    internal static void Disable() => Environment.SetEnvironmentVariable("DOTNET_EnableDiagnostics", "0");
}
