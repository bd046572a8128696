using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Objects;
using Netdevd.Tests.Shared;

namespace Netdevd.Qmp.Tests;

/// <summary>Whatever a command throws costs one error response: the session, the other sessions and the server keep going.</summary>
public sealed class SessionFaultTests
{
    private static readonly QapiCommand[] s_faulty =
    [
        Throwing("x-invalid-operation", () => new InvalidOperationException("broken invariant")),
        Throwing("x-io", () => new IOException("disk on fire")),
        Throwing("x-canceled", () => new OperationCanceledException("not the server stopping")),
        Throwing("x-aggregate", () => new AggregateException(new InvalidOperationException("inner"))),
        Throwing("x-hostile", () => new HostileException()),
    ];

    [Theory]
    [InlineData("x-invalid-operation")]
    [InlineData("x-io")]
    [InlineData("x-canceled")]
    [InlineData("x-aggregate")]
    [InlineData("x-hostile")]
    public async Task A_command_throwing_anything_costs_one_error_and_nothing_else(string command)
    {
        var host = await QmpTestHost.StartAsync(extraCommands: s_faulty);
        try
        {
            await using var bystander = await host.ConnectAsync();
            await using (var client = await host.ConnectAsync())
            {
                var response = await client.ExecuteAsync($$"""{"execute":"{{command}}","id":1}""");
                var error = Assert.IsType<QDict>(response.Get("error"));
                Assert.Equal("GenericError", Assert.IsType<QString>(error.Get("class")).Value);
                QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-version"}"""));
            }

            await Eventually.WaitUntilAsync(() => host.Server.SessionCount == 1, "the server took the session");
            QmpAssert.Return(await bystander.ExecuteAsync("""{"execute":"query-netdevs"}"""));
            await using var later = await host.ConnectAsync();
            QmpAssert.Return(await later.ExecuteAsync("""{"execute":"query-version"}"""));
        }
        finally
        {
            // Stopping the server must not rethrow what a session met.
            await host.DisposeAsync();
        }
    }

    private static QapiCommand Throwing(string name, Func<Exception> exception) =>
        new(name, allowPreconfig: false, allowOob: false, (_, _) => throw exception());

    /// <summary>An exception that cannot even describe itself.</summary>
    private sealed class HostileException : Exception
    {
        public override string Message => throw new InvalidOperationException("no message for you");

        public override string? StackTrace => throw new InvalidOperationException("no stack trace either");

        public override string ToString() => throw new InvalidOperationException("nor a string");
    }
}
