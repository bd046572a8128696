using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Tests;

/// <summary>Lookups (QMP handlers call them without the registry's gate) while other threads add and delete netdevs.</summary>
public sealed class RegistryConcurrencyTests
{
    private static readonly TimeSpan s_duration = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Lookups_and_set_link_race_adds_and_deletes_with_consistent_answers()
    {
        await using var r = new NetdevRegistry([new HubportNetdevFactory()], new RecordingEventSink(), NullLoggerFactory.Instance);
        await r.AddAsync(Hubport("first", 0), NetdevOrigin.Monitor);
        await r.AddAsync(Hubport("last", 0), NetdevOrigin.Monitor);
        await r.DeleteAsync("last");
        await r.AddAsync(Hubport("last", 0), NetdevOrigin.Monitor);

        var failures = new ConcurrentQueue<string>();
        var deadline = DateTime.UtcNow + s_duration;
        long lookups = 0;
        var threads = new List<Task>();
        for (var w = 0; w < 3; w++)
        {
            var writer = w;
            threads.Add(Run(failures, async () =>
            {
                for (var i = 0; DateTime.UtcNow < deadline; i++)
                {
                    var id = $"w{writer}n{i % 8}";
                    await r.AddAsync(Hubport(id, 1 + writer), NetdevOrigin.Monitor);
                    await r.DeleteAsync(id);
                }
            }));
        }

        for (var t = 0; t < 3; t++)
        {
            threads.Add(Run(failures, () =>
            {
                while (DateTime.UtcNow < deadline)
                {
                    Check(failures, r.Find("first")?.Id == "first", "first is always found");
                    Check(failures, r.Find("w0n3") is not { } e || e.Id == "w0n3", "a lookup returns the netdev asked for");
                    var ids = r.Snapshot().Select(e => e.Id).ToList();
                    Check(failures, ids.Count == ids.Distinct().Count(), "ids are unique");
                    Check(failures, ids.IndexOf("first") == 0, "creation order: first stays first");
                    Check(failures, ids.IndexOf("last") == 1, "creation order: last (re-added before the others) stays second");
                    Interlocked.Increment(ref lookups);
                }

                return Task.CompletedTask;
            }));
        }

        threads.Add(Run(failures, () =>
        {
            for (var up = false; DateTime.UtcNow < deadline; up = !up)
            {
                r.SetLink("first", up);
                Check(failures, r.Find("first")!.Client.LinkDown == !up, "set_link is seen by lookups");
                try
                {
                    r.SetLink("w1n5", up);
                }
                catch (QapiException e) when (e.ErrorClass == QapiErrorClass.DeviceNotFound)
                {
                }
            }

            return Task.CompletedTask;
        }));

        await Task.WhenAll(threads);
        Assert.True(failures.IsEmpty, string.Join(Environment.NewLine, failures.Distinct().Take(10)));
        Assert.True(lookups > 100, $"only {lookups} lookups ran");
        Assert.Equal(["first", "last"], r.Snapshot().Select(e => e.Id));
    }

    private static Task Run(ConcurrentQueue<string> failures, Func<Task> body) =>
        Task.Factory.StartNew(
            async () =>
            {
                try
                {
                    await body();
                }
                catch (Exception e)
                {
                    failures.Enqueue(e.GetType().Name + ": " + e.Message);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap();

    private static void Check(ConcurrentQueue<string> failures, bool condition, string what)
    {
        if (!condition)
        {
            failures.Enqueue(what);
        }
    }

    private static Netdev Hubport(string id, int hubid) => new()
    {
        Id = id,
        Type = NetClientDriver.Hubport,
        Hubport = new NetdevHubPortOptions { Hubid = hubid },
    };
}
