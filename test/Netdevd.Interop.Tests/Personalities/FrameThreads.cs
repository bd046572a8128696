namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// The threads that move frames in a netdevd serving one guest (a personality, <c>netdevd run</c>):
/// passt, pasta and slirp4netns do it on one thread, and so does netdevd, sharing one poll thread
/// ("io0") between the tap (or passt's socket) and the user netdev instead of a thread each
/// ("tap:…", "user-…", "stream:…").
/// </summary>
internal static class FrameThreads
{
    public static void AssertOne(int pid)
    {
        var names = Directory.GetDirectories($"/proc/{pid}/task")
            .Select(task => File.ReadAllText(Path.Combine(task, "comm")).Trim())
            .ToList();
        var described = string.Join(", ", names);
        Assert.True(names.Count(n => n == "io0") == 1, $"no single io0 thread: {described}");
        Assert.DoesNotContain(names, n => n.StartsWith("tap:", StringComparison.Ordinal) || n.StartsWith("user-", StringComparison.Ordinal) || n.StartsWith("stream:", StringComparison.Ordinal));
    }
}
