using System.Diagnostics;
using System.Text;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// netdevd started the way podman and rootlesskit start slirp4netns: through a symlink named
/// <c>slirp4netns</c> (so the personality comes from argv[0]), with the ready descriptor on fd 3
/// (a copy of stdout, where the test reads the "1") and the exit descriptor on fd 4 (a copy of
/// stdin, closed by the test to make it leave).
/// </summary>
internal sealed class Slirp4netnsProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly string _dir;

    private Slirp4netnsProcess(Process process, string dir)
    {
        _process = process;
        _dir = dir;
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        _process.BeginErrorReadLine();
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public int Pid => _process.Id;

    /// <summary>A symlink named slirp4netns to the test's netdevd apphost, in a directory of its own.</summary>
    public static string Symlink(string dir)
    {
        var link = Path.Combine(dir, "slirp4netns");
        File.CreateSymbolicLink(link, Path.Combine(AppContext.BaseDirectory, "netdevd"));
        return link;
    }

    /// <summary>Runs <c>slirp4netns -r 3 -e 4 ARGS</c>.</summary>
    public static Slirp4netnsProcess Start(params string[] args)
    {
        var dir = HostTools.TempDir();
        var link = Symlink(dir);
        var start = new ProcessStartInfo("sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec \"$0\" -r 3 -e 4 \"$@\" 3>&1 4<&0");
        start.ArgumentList.Add(link);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        return new Slirp4netnsProcess(Process.Start(start)!, dir);
    }

    /// <summary>Waits for the "1" on the ready descriptor; fails with stderr when the process ends first.</summary>
    public async Task WaitReadyAsync()
    {
        var buffer = new char[1];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int n;
        try
        {
            n = await _process.StandardOutput.ReadAsync(buffer.AsMemory(), timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException($"slirp4netns was not ready within 60 s: {Stderr}");
        }

        if (n != 1 || buffer[0] != '1')
        {
            await _process.WaitForExitAsync(CancellationToken.None);
            throw new InvalidOperationException($"slirp4netns ended (exit {_process.ExitCode}) before it was ready: {Stderr}");
        }
    }

    /// <summary>Closes the exit descriptor's other end, as conmon does, and returns the exit status.</summary>
    public async Task<int> CloseExitFdAsync()
    {
        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
