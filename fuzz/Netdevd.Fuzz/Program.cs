using Netdevd.Fuzz;
using SharpFuzz;

// Netdevd.Fuzz TARGET            runs TARGET under SharpFuzz's AFL loop (afl-fuzz starts it; fuzz/run.sh)
// Netdevd.Fuzz TARGET FILE...    runs TARGET once over each file and reports what escaped (triage)
// Netdevd.Fuzz --list            names the targets
if (args.Length == 0 || args[0] == "--list")
{
    foreach (var name in FuzzTargets.Names)
    {
        Console.WriteLine(name);
    }

    return args.Length == 0 ? 2 : 0;
}

if (!FuzzTargets.TryGet(args[0], out var harness))
{
    await Console.Error.WriteLineAsync($"Netdevd.Fuzz: unknown target '{args[0]}' (--list names them)");
    return 2;
}

if (args.Length == 1)
{
    Fuzzer.Run(stream =>
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        harness(copy.GetBuffer().AsSpan(0, (int)copy.Length));
    });
    return 0;
}

var failures = 0;
foreach (var file in args.Skip(1))
{
    try
    {
        harness(File.ReadAllBytes(file));
    }
#pragma warning disable CA1031 // triage: report every escaped exception and go on with the next file
    catch (Exception e)
#pragma warning restore CA1031
    {
        failures++;
        Console.WriteLine($"{file}: {e}");
    }
}

Console.WriteLine($"{args.Length - 1 - failures} clean, {failures} failing");
return failures == 0 ? 0 : 1;
