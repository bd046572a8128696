namespace Netdevd.Qmp.Tests;

/// <summary>Capabilities negotiation as QEMU's monitor does it.</summary>
public sealed class NegotiationTests
{
    [Fact]
    public async Task Before_negotiation_every_other_command_is_refused_with_a_hint()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync(negotiate: false);
        const string Hint = "Expecting capabilities negotiation with 'qmp_capabilities'";
        QmpAssert.Error(await client.ExecuteAsync("""{"execute":"query-version","id":1}"""), "CommandNotFound", Hint, "1");
        QmpAssert.Error(await client.ExecuteAsync("""{"execute":"nosuch","id":2}"""), "CommandNotFound", Hint, "2");

        // Shape errors are reported unchanged in negotiation mode.
        QmpAssert.GenericError(await client.ExecuteAsync("""{"id":3}"""), "QMP input lacks member 'execute'", "3");
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"qmp_capabilities","id":4}"""), "4");
        QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-version","id":5}"""), "5");
    }

    [Fact]
    public async Task Second_negotiation_is_CommandNotFound()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        QmpAssert.Error(await client.ExecuteAsync("""{"execute":"qmp_capabilities"}"""), "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
    }

    [Fact]
    public async Task Enabling_oob_is_refused_and_negotiation_continues()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync(negotiate: false);
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}"""), "Capability oob not available");
        QmpAssert.Error(await client.ExecuteAsync("""{"execute":"query-version"}"""), "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"qmp_capabilities","arguments":{"enable":[]}}"""));
    }

    [Fact]
    public async Task An_unknown_capability_is_an_enum_error()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync(negotiate: false);
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"qmp_capabilities","arguments":{"enable":["foo"]}}"""), "Parameter 'null' does not accept value 'foo'");
    }
}
