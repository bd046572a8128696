using System.Diagnostics;
using System.Text;

namespace Netdevd.Interop.Tests.VhostUser;

/// <summary>
/// DPDK's testpmd (Debian's dpdk-dev and its vhost/tap PMDs) as a vhost-user back-end that
/// forwards between its vhost port and a DPDK tap (io mode), without hugepages. It exits when its
/// stdin closes; it is killed by its own process handle otherwise.
/// </summary>
internal sealed class Testpmd : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _prefix;

    private Testpmd(Process process, string prefix)
    {
        _process = process;
        _prefix = prefix;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The packages the test needs, for the skip reason.</summary>
    public const string Packages = "dpdk-dev librte-net-vhost23 librte-net-tap23";

    public static bool IsInstalled =>
        File.Exists("/usr/bin/dpdk-testpmd") && Directory.EnumerateFiles("/usr/lib", "librte_net_vhost.so*", SearchOption.AllDirectories).Any();

    /// <summary>Starts testpmd with a vhost-user server port on <paramref name="socket"/> and a DPDK tap named <paramref name="tap"/>.</summary>
    public static async Task<Testpmd> StartAsync(string socket, string tap, bool tso = false)
    {
        var prefix = $"ndvfe{Environment.ProcessId}{Random.Shared.Next(0x10000):x4}";
        // stdbuf: testpmd's "Press enter to exit" (its ports started) would wait in a full stdout buffer.
        var psi = new ProcessStartInfo("stdbuf")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
        {
            "-oL", "-eL", "dpdk-testpmd", "--no-huge", "-m", "512", "--no-pci", "-l", "0,1", $"--file-prefix={prefix}",
            "--vdev", $"net_vhost0,iface={socket},client=0{(tso ? ",tso=1" : string.Empty)}", "--vdev", $"net_tap0,iface={tap}",
            "--", "--total-num-mbufs=8192", "--forward-mode=io", "--disable-link-check",
        })
        {
            psi.ArgumentList.Add(a);
        }

        var pmd = new Testpmd(Process.Start(psi)!, prefix);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!pmd.Output.Contains("Press enter to exit", StringComparison.Ordinal))
        {
            if (pmd._process.HasExited || DateTime.UtcNow > deadline)
            {
                var output = pmd.Output;
                await pmd.DisposeAsync();
                throw new InvalidOperationException($"testpmd did not start its ports: {output}");
            }

            await Task.Delay(100);
        }

        return pmd;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await _process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill();
                    await _process.WaitForExitAsync();
                }
            }
        }
        finally
        {
            _process.Dispose();
            try
            {
                Directory.Delete($"/var/run/dpdk/{_prefix}", true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }
}
