namespace Netdevd.Backends.Tests;

/// <summary>
/// Private temp directories for the tests' sockets, removed when the test process exits so no
/// test leaves one behind however it ends.
/// </summary>
internal static class TestDirectories
{
    private static readonly List<string> Created = [];

    public static string Create(string prefix)
    {
        var dir = Directory.CreateTempSubdirectory(prefix).FullName;
        lock (Created)
        {
            if (Created.Count == 0)
            {
                AppDomain.CurrentDomain.ProcessExit += static (_, _) => RemoveAll();
            }

            Created.Add(dir);
        }

        return dir;
    }

    private static void RemoveAll()
    {
        lock (Created)
        {
            foreach (var dir in Created)
            {
                try
                {
                    if (Directory.Exists(dir))
                    {
                        Directory.Delete(dir, recursive: true);
                    }
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
    }
}
